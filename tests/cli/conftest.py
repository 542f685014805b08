"""Running `kerasforge` as a user does: a subprocess, with the environment of a fresh machine."""

import os
import subprocess
import sys

import pytest

from kerasforge._quiet_backend import BACKEND_LOGS_VARIABLE

# Runs the command line and then says whether it imported Keras or any backend (TensorFlow, JAX
# or torch, whichever KERAS_BACKEND picks), as the last line of stdout.
_REPORTING_IMPORTS = (
    "import sys\n"
    "from kerasforge.cli import main\n"
    "code = main(sys.argv[1:])\n"
    "print('imported the backend:', any(m in sys.modules for m in ('keras', 'tensorflow', 'jax', 'torch')))\n"
    "sys.exit(code)\n"
)


@pytest.fixture
def fresh_env():
    """os.environ without what a user would not have set (tests/conftest.py sets TF_CPP_MIN_LOG_LEVEL)."""
    return {
        key: value
        for key, value in os.environ.items()
        if key not in ("TF_CPP_MIN_LOG_LEVEL", BACKEND_LOGS_VARIABLE)
    }


@pytest.fixture
def kerasforge(fresh_env):
    """Runs `kerasforge ARGS...`; with `imports=True` stdout ends saying whether it imported the backend."""

    def run(*args, cwd=None, imports=False, prefix=(), env=None, timeout=600):
        python = (
            [sys.executable, "-c", _REPORTING_IMPORTS] if imports else [sys.executable, "-m", "kerasforge"]
        )
        return subprocess.run(
            [*prefix, *python, *map(str, args)],
            capture_output=True,
            text=True,
            cwd=cwd,
            env=env or fresh_env,
            timeout=timeout,
        )

    return run
