"""What a search's processes share: KerasTuner's oracle variables and the stop delay.

Imports nothing heavy: the command line reads it before it imports the backend.
"""

import contextlib
import os
import socket

from kerasforge.errors import TuningError
from kerasforge.tuning.search_arguments import parse_address

# Seconds a stopped worker gets to end before it is killed.
STOP_SECONDS = 10


@contextlib.contextmanager
def oracle_environment(role: str, address: str):
    """Sets KerasTuner's `KERASTUNER_*` variables for a chief or a worker, and restores them after.

    A worker keeps a `KERASTUNER_TUNER_ID` it was given (each worker needs
    its own); otherwise it is `worker-HOSTNAME`.
    """
    host, port = parse_address(address)
    tuner_id = (
        "chief"
        if role == "chief"
        else os.environ.get("KERASTUNER_TUNER_ID", f"worker-{socket.gethostname()}")
    )
    if role == "worker" and "chief" in tuner_id:
        raise TuningError(f"a worker's KERASTUNER_TUNER_ID must not contain 'chief'. Received: {tuner_id!r}")
    wanted = {
        "KERASTUNER_TUNER_ID": tuner_id,
        "KERASTUNER_ORACLE_IP": host,
        "KERASTUNER_ORACLE_PORT": str(port),
    }
    saved = {key: os.environ.get(key) for key in wanted}
    os.environ.update(wanted)
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
