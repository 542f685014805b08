"""Keeps TensorFlow's own log lines off the user's terminal.

Why a file-descriptor filter: TensorFlow 2.21 writes lines such as
`WARNING: All log messages before absl::InitializeLog() is called ...` and
`I0000 00:00:... port.cc:153] oneDNN custom operations are on ...` from C++
straight to file descriptor 2 when it is imported, and more at run time
(`E0000 ... NodeDef mentions attribute use_unbounded_threadpool` during
`compare`), even with `TF_CPP_MIN_LOG_LEVEL=3`. No environment variable and no
Python logger reaches them. So, before the backend is imported, the command
line points fd 2 at a pipe; a thread reads it, drops the lines in absl/glog
format and forwards every other line to the real stderr. Python's own
`sys.stderr` writes to a duplicate of the real stderr, so kerasforge's
messages and warnings never wait on the thread. Child processes (search
workers, trial processes) inherit the filtered fd 2. TensorFlow's and absl's
Python loggers are set to ERROR as well.

Setting `KERASFORGE_BACKEND_LOGS=1` (what `kerasforge -v` does) leaves
everything as TensorFlow prints it.
"""

import logging
import os
import re
import sys
import threading

BACKEND_LOGS_VARIABLE = "KERASFORGE_BACKEND_LOGS"

# Whole lines TensorFlow, absl, glog and oneDNN print from C++: the absl/glog
# prefix (`I0000 00:00:1795691767.385646    6189 port.cc:153] `), the prefix of
# older TensorFlow releases (`2024-01-01 12:00:00.000000: I tf/core/x.cc:1] `),
# absl's notice before it is initialised, and the second line of TensorFlow's
# CPU-instructions notice.
_BACKEND_LINE = re.compile(
    rb"(?:[IWEF]\d{4} \d\d:\d\d:\d+\.\d+ +\d+ [^ \]]+:\d+\] "
    rb"|\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d+: [IWEF] \S+:\d+\] "
    rb"|WARNING: All log messages before absl::InitializeLog\(\) is called are written to STDERR$"
    rb"|To enable the following instructions: .* rebuild TensorFlow with the appropriate compiler flags\.$)"
)


def is_backend_log_line(line: bytes) -> bool:
    """Whether one line of stderr (without its newline) is TensorFlow's own logging."""
    return _BACKEND_LINE.match(line.rstrip(b"\r")) is not None


def backend_logs_wanted() -> bool:
    """Whether the user asked to see the backend's log lines (`KERASFORGE_BACKEND_LOGS=1`)."""
    return os.environ.get(BACKEND_LOGS_VARIABLE, "").strip().lower() not in ("", "0", "false", "no")


def _forward(read_fd: int, out_fd: int) -> None:
    """Copies the pipe to `out_fd` line by line, leaving out the backend's log lines."""
    pending = b""
    with open(read_fd, "rb", buffering=0) as pipe:
        while chunk := pipe.read(65536):
            *lines, pending = (pending + chunk).split(b"\n")
            _write(out_fd, b"".join(line + b"\n" for line in lines if not is_backend_log_line(line)))
    if pending and not is_backend_log_line(pending):
        _write(out_fd, pending)


def _write(out_fd: int, data: bytes) -> None:
    try:
        while data:
            data = data[os.write(out_fd, data) :]
    except OSError:
        pass  # the terminal went away: there is nowhere left to show it


class BackendLogFilter:
    """Filters the backend's log lines out of this process's fd 2 (see the module docstring).

    Use it as a context manager around the code that imports and runs the
    backend. Nothing is filtered when Python's `sys.stderr` is not the
    process's stderr (e.g. captured by pytest), since then fd 2 is not what
    the user sees.

    Example:

    ```python
    with BackendLogFilter():
        import tensorflow  # its absl/oneDNN lines are dropped
    ```
    """

    def __init__(self):
        self._saved_fd = None
        self._thread = None
        self._python_stderr = None

    def __enter__(self):
        if sys.stderr is not sys.__stderr__ or sys.stderr is None:
            return self
        sys.stderr.flush()
        try:
            self._saved_fd = os.dup(2)
        except OSError:
            return self  # no stderr at all: nothing to keep clean
        read_fd, write_fd = os.pipe()
        os.dup2(write_fd, 2)
        os.close(write_fd)
        self._python_stderr = sys.stderr
        sys.stderr = open(
            self._saved_fd,
            "w",
            buffering=1,
            encoding=self._python_stderr.encoding,
            errors="backslashreplace",
            closefd=False,
        )
        self._thread = threading.Thread(target=_forward, args=(read_fd, self._saved_fd), daemon=True)
        self._thread.start()
        for name in ("tensorflow", "absl"):
            logging.getLogger(name).setLevel(logging.ERROR)
        return self

    def __exit__(self, *exc_info):
        if self._saved_fd is None:
            return False
        sys.stderr.flush()
        sys.stderr = self._python_stderr
        os.dup2(self._saved_fd, 2)  # closes this process's end of the pipe
        # The thread ends when every writer is gone; a child that outlives us keeps it open.
        self._thread.join(timeout=0.5)
        # The duplicate of stderr stays open: a logging handler made meanwhile (TensorFlow
        # makes one) still writes to the stream over it.
        self._saved_fd = None
        return False
