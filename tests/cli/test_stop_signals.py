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


# C code running a Python callback can drop the `Stopped` a signal raised in it, or turn
# it into another error (TensorFlow has made it a SystemError); the stop is remembered.
_STOPPED_AND_LOST = """
import os, signal
from kerasforge._stop_signals import Stopped, raise_if_stopping, stop_signals_as_interrupts

# Python's own SIGINT handling, whatever this process inherited from the test runner's worker.
signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})
signal.signal(signal.SIGINT, signal.default_int_handler)
with stop_signals_as_interrupts():
    raise_if_stopping()
    try:
        try:
            os.kill(os.getpid(), signal.SIGINT)
            for _ in range(10**7):
                pass
        except Stopped:
            raise SystemError("bad argument to internal function")
    except SystemError as error:
        try:
            raise_if_stopping(error)
        except Stopped as stopped:
            print("stopped by", stopped.signum, "from", type(stopped.__cause__).__name__)
raise_if_stopping()
print("the next command starts afresh")
"""


def test_a_stop_turned_into_another_error_is_raised_again_until_the_command_ends():
    result = subprocess.run(
        [sys.executable, "-c", _STOPPED_AND_LOST], capture_output=True, text=True, timeout=60
    )
    expected = "stopped by 2 from SystemError\nthe next command starts afresh\n"
    assert (result.returncode, result.stdout, result.stderr) == (0, expected, "")


# A signal dropped inside a finalizer is sent again a moment later, but only into the block that
# dropped it: a block that already ended (its stop raised from memory) must not get it afterwards,
# where Python's own handlers are back (SIGTERM's kills the process; in a test run, the worker).
_DROPPED_THEN_ENDED = """
import os, signal, time
from kerasforge._stop_signals import Stopped, raise_if_stopping, stop_signals_as_interrupts

class Finalized:
    def __del__(self):
        os.kill(os.getpid(), signal.SIGTERM)
        for _ in range(10**6):  # the handler runs in here, and its Stopped is dropped
            pass

try:
    with stop_signals_as_interrupts():
        Finalized()
        raise_if_stopping()  # the remembered stop ends the block at once
except Stopped as error:
    print("stopped by", error.signum)
time.sleep(1)
print("still running")
"""


def test_a_dropped_signal_is_not_sent_again_after_its_block_ended():
    result = subprocess.run(
        [sys.executable, "-c", _DROPPED_THEN_ENDED], capture_output=True, text=True, timeout=60
    )
    assert (result.returncode, result.stdout, result.stderr) == (0, "stopped by 15\nstill running\n", "")
