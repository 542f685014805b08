"""`python -m kerasforge` runs the command line."""

import sys

from kerasforge.cli import main

sys.exit(main())
