import subprocess
import sys

# A SIGTERM that arrives while a finalizer runs (Keras runs gc.collect() after every
# trial) is raised inside it, where Python would print the exception and drop it.
_STOPPED_INSIDE_A_FINALIZER = """
import os, signal, time
from kerasforge._stop_signals import Stopped, stop_signals_as_interrupts

class Finalized:
    def __del__(self):
        os.kill(os.getpid(), signal.SIGTERM)
        for _ in range(10**6):  # the handler runs in here, inside the finalizer
            pass

with stop_signals_as_interrupts():
    try:
        Finalized()
        time.sleep(10)
        print("not stopped")
    except Stopped as error:
        print("stopped by", error.signum)
"""


def test_a_signal_dropped_inside_a_finalizer_still_stops_quietly():
    result = subprocess.run(
        [sys.executable, "-c", _STOPPED_INSIDE_A_FINALIZER], capture_output=True, text=True, timeout=60
    )
    assert result.stdout == "stopped by 15\n"
    assert result.stderr == ""


_IGNORED_BEFORE = """
import os, signal
from kerasforge._stop_signals import stop_signals_as_interrupts

signal.signal(signal.SIGTERM, signal.SIG_IGN)  # as under nohup, or a child its parent manages
with stop_signals_as_interrupts():
    os.kill(os.getpid(), signal.SIGTERM)
    print("still running")
"""


def test_a_signal_ignored_before_stays_ignored():
    result = subprocess.run(
        [sys.executable, "-c", _IGNORED_BEFORE], capture_output=True, text=True, timeout=60
    )
    assert (result.returncode, result.stdout, result.stderr) == (0, "still running\n", "")
