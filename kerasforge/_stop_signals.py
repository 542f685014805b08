"""SIGTERM stops a command as Ctrl-C does.

`timeout`, `docker stop`, Slurm and Kubernetes stop a program with SIGTERM,
whose default action kills Python on the spot: no clean-up, a half-written
run folder left behind. While a command runs, SIGINT and SIGTERM both raise
`Stopped` (a `KeyboardInterrupt`) where the program is, so the same `with`
blocks that clean up after Ctrl-C run, and the command line prints one line
and exits with 128 + the signal number.

Two details keep that to one line:

- Once stopping, later signals are ignored, so the clean-up is not cut short.
  They go to a Python function that does nothing, not to `SIG_IGN`: switching
  to `SIG_IGN` while a signal is on its way makes Python print
  "Signal 15 ignored due to race condition".
- A signal that arrives while a finalizer runs (Keras calls `gc.collect()`
  after every trial) raises inside it, where Python prints the exception and
  drops it. Such a `Stopped` is kept quiet and the signal sent again a moment
  later, when the program is back in ordinary code.

A `Stopped` can also be lost on its way. Raised while C code runs a Python
callback, it may be dropped, or come back as another error: inside
TensorFlow's `fit` it has come back as a `SystemError` ("bad argument to
internal function") or a `TypeError`, which KerasTuner would record as a
failed trial before carrying on, the signals already ignored. So the stop
is remembered until the command ends, and `raise_if_stopping` raises it
again: from the errors that code catches, and at safe points of long loops.
"""

import contextlib
import os
import signal
import sys
import threading

STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)
# Seconds before a signal dropped inside a finalizer is sent again.
_RESEND_SECONDS = 0.1


class Stopped(KeyboardInterrupt):
    """SIGINT or SIGTERM arrived.

    Attributes:
        signum: The signal's number.
    """

    def __init__(self, signum: int):
        super().__init__(signal.Signals(signum).name)
        self.signum = signum


_armed: list[int] = []
# One token per `stop_signals_as_interrupts` block, while it runs: a signal sent again is sent only
# into the block that dropped it, never into the code after it (which may be the next test, or a
# notebook's next cell, with Python's own handlers back).
_active: list[object] = []
# The signal whose stop is under way: set by the first one, kept until the command ends.
_stopping: list[int] = []


def _ignore(signum, frame):
    """Does nothing: the command is already stopping."""


def _raise_stopped(signum, frame):
    for each in _armed:
        signal.signal(each, _ignore)
    if not _stopping:
        _stopping.append(signum)
    raise Stopped(signum)


def raise_if_stopping(cause: BaseException | None = None) -> None:
    """Raises `Stopped` again if a stop signal has arrived; otherwise does nothing.

    See the module docstring: a signal's `Stopped` can be dropped or turned
    into another error before it reaches the code that cleans up.

    Args:
        cause: The error the stop may have turned into, chained as the cause.

    Raises:
        Stopped: if SIGINT or SIGTERM arrived while `stop_signals_as_interrupts` was active.

    Example:

    ```python
    try:
        model.fit(x, y)
    except Exception as error:
        raise_if_stopping(error)  # a Ctrl-C that TensorFlow turned into a SystemError
        raise
    ```
    """
    if _stopping:
        raise Stopped(_stopping[0]) from cause


def _unraisable(hook_arguments, previous=None):
    error = hook_arguments.exc_value
    if not isinstance(error, Stopped):
        (previous or sys.__unraisablehook__)(hook_arguments)
        return
    if threading.current_thread() is threading.main_thread():
        for each in _armed:
            signal.signal(each, _raise_stopped)
    # The hook is installed only inside a block, so `_active` names the one that dropped it.
    threading.Timer(_RESEND_SECONDS, _send_again, (error.signum, _active[-1])).start()


def _send_again(signum: int, block: object) -> None:
    """Sends `signum` to this process again if the block that dropped it still runs."""
    if _active and _active[-1] is block:
        os.kill(os.getpid(), signum)


@contextlib.contextmanager
def stop_signals_as_interrupts(signals=STOP_SIGNALS):
    """Meanwhile, each of `signals` raises `Stopped` (see the module docstring).

    A signal that is ignored when this starts (as under `nohup`, or in a
    process whose parent stops it) stays ignored. Does nothing outside the
    main thread, where signal handlers cannot be set.

    Example:

    ```python
    with stop_signals_as_interrupts():
        train(recipe)  # SIGTERM now removes the partial run folder, as Ctrl-C does
    ```
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = {each: signal.getsignal(each) for each in signals}
    hook = sys.unraisablehook
    for each, handler in previous.items():
        if handler in (signal.default_int_handler, signal.SIG_DFL):
            signal.signal(each, _raise_stopped)
            _armed.append(each)
    sys.unraisablehook = lambda arguments: _unraisable(arguments, hook)
    _stopping.clear()
    _active.append(object())
    try:
        yield
    finally:
        _active.pop()
        sys.unraisablehook = hook
        for each, handler in previous.items():
            signal.signal(each, handler)
        _armed.clear()
        _stopping.clear()
