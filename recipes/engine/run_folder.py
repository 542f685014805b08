"""A run folder that appears only when a run has finished writing it.

This module imports only the standard library, so the command line can check
a run folder before it imports TensorFlow.
"""

import contextlib
import datetime
import errno
import fcntl
import json
import os
import shlex
import shutil
import socket
import time
from pathlib import Path

from kerasforge.errors import RunDirError
from kerasforge.recipes.engine.checkpoint_files import CHECKPOINT_FOLDER, checkpoint_epochs, has_checkpoint

# The staging folder of a live run holds this file, locked (flock) by the run's process
# for as long as it lives: the kernel drops the lock when the process dies, however it dies.
LOCK_NAME = ".kerasforge-run.lock"
# A staging folder without a lock file is either from a kerasforge that predates the lock,
# or a run in the instant between creating the folder and locking it.
UNLOCKED_GRACE_SECONDS = 10.0
_PARTIAL = ".partial"


def staging_path(path: Path) -> Path:
    """The hidden staging folder (`.NAME.partial`) beside the run folder `path`."""
    path = Path(path)
    return path.parent / f".{path.name}{_PARTIAL}"


class ResumableRunError(RunDirError):
    """A run folder asked for holds the checkpoint of a killed run: resume it, or start afresh.

    Attributes:
        path: The run folder.
        epochs_done: Complete epochs in its newest checkpoint.
    """

    def __init__(self, path: Path, epochs_done: int, fresh_command: str | None = None):
        self.path, self.epochs_done = Path(path), epochs_done
        quoted = shlex.quote(str(path))
        fresh = fresh_command or f"kerasforge train RECIPE --run-dir {quoted} --fresh"
        super().__init__(
            f"--run-dir {str(path)!r} holds the checkpoint of a killed run ({epochs_done} epoch(s) done); "
            f"resume it: kerasforge train --resume {quoted}; or start afresh: {fresh}"
        )

    def with_fresh_command(self, command: str) -> "ResumableRunError":
        """The same error, naming `command` as the way to start afresh."""
        return ResumableRunError(self.path, self.epochs_done, command)


def check_folder_argument(path, argument: str = "run_dir") -> Path | None:
    """Returns `path` as a Path (None stays None).

    Raises:
        RunDirError: if `path` is an empty string, which would name the
            current folder.
    """
    if path is None:
        return None
    if not str(path).strip():
        raise RunDirError(
            f"Argument `{argument}` must name a folder. Received: {argument}={str(path)!r}; "
            "leave out --run-dir to get the default folder"
        )
    return Path(path)


def _nearest_existing(path: Path) -> Path:
    for candidate in [path, *path.parents]:
        if candidate.exists() or candidate.is_symlink():
            return candidate
    return Path(".")


def _reason(path: Path, error: OSError) -> str:
    existing = _nearest_existing(path)
    if not existing.is_dir():
        return f"{str(existing)!r} is a file, not a folder"
    if error.errno == errno.EROFS:
        return f"{str(existing)!r} is on a read-only file system"
    if error.errno in (errno.EACCES, errno.EPERM):
        return f"no permission to create folders in {str(existing)!r}"
    return f"{str(existing)!r} does not allow new folders ({error.strerror})"


def creation_error(path: Path, error: OSError) -> RunDirError:
    """The one-line `RunDirError` for a folder that `mkdir` could not create."""
    return RunDirError(
        f"cannot create the folder {str(path)!r}: {_reason(path, error)}; choose another --run-dir"
    )


def make_folders(path: Path, wanted: Path | None = None) -> list[Path]:
    """Creates `path` and its missing parents; returns the folders it created, innermost first.

    Args:
        path: The folder to create.
        wanted: The folder to name in an error, when `path` is made for it
            (e.g. the parent of a run folder). Defaults to `path`.

    Raises:
        RunDirError: if a folder cannot be created (a parent is a file, the
            file system is read-only, no permission...).
    """
    missing = [folder for folder in [path, *path.parents] if not folder.is_dir()]
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise creation_error(wanted or path, error) from None
    return missing


def check_writable(path: str | Path) -> None:
    """Checks that `path` can be created, or exists, and takes new folders; leaves nothing behind.

    Raises:
        RunDirError: if it cannot, saying why (see `make_folders`).
    """
    path = Path(path)
    created = make_folders(path)
    probe = path / f".kerasforge-probe-{os.getpid()}"
    try:
        probe.mkdir()
        probe.rmdir()
    except OSError as error:
        raise RunDirError(
            f"cannot write in the folder {str(path)!r}: {_reason(probe, error)}; choose another --run-dir"
        ) from None
    finally:
        remove_if_empty(created)


def remove_if_empty(folders: list[Path]) -> None:
    """Removes the folders (innermost first) that are still empty, as `make_folders` returns them."""
    for folder in folders:
        try:
            folder.rmdir()
        except OSError:
            return


def _boot_id() -> str:
    try:
        return Path("/proc/sys/kernel/random/boot_id").read_text().strip()
    except OSError:
        return ""


def _owner_alive(owner: dict) -> bool:
    """Whether the process that wrote `owner` may still run (used where flock is not available)."""
    if owner.get("host") != socket.gethostname() or owner.get("boot_id") != _boot_id():
        return owner.get("host") != socket.gethostname()  # another machine: cannot tell, so yes
    try:
        os.kill(int(owner.get("pid", 0)), 0)
    except ProcessLookupError:
        return False
    except (OSError, ValueError):
        return True
    return True


def _read_owner(lock_path: Path) -> dict:
    try:
        owner = json.loads(lock_path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return owner if isinstance(owner, dict) else {}


def _lock(staging: Path, create: bool) -> int | None:
    """Opens and locks the lock file of `staging`; returns its descriptor, or None if a live run holds it."""
    lock_path = staging / LOCK_NAME
    try:
        descriptor = os.open(lock_path, os.O_RDWR | (os.O_CREAT | os.O_EXCL if create else 0), 0o644)
    except (FileNotFoundError, FileExistsError):
        return None
    try:
        fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(descriptor)
        return None
    except OSError:
        # A file system without locks: judge by the owner's process id instead.
        if not create and _owner_alive(_read_owner(lock_path)):
            os.close(descriptor)
            return None
    owner = {"pid": os.getpid(), "host": socket.gethostname(), "boot_id": _boot_id()}
    os.ftruncate(descriptor, 0)
    os.pwrite(descriptor, json.dumps(owner).encode(), 0)
    return descriptor


def _is_staging(path: Path) -> bool:
    return path.name.startswith(".") and path.name.endswith(_PARTIAL) and path.is_dir()


def _take_over(staging: Path) -> int | None:
    """Locks a staging folder whose run is gone and empties it; None if its run is alive."""
    if (staging / LOCK_NAME).exists():
        descriptor = _lock(staging, create=False)
    elif time.time() - staging.stat().st_mtime > UNLOCKED_GRACE_SECONDS:
        descriptor = _lock(staging, create=True)
    else:
        return None
    if descriptor is not None:
        for child in staging.iterdir():
            if child.name != LOCK_NAME:
                shutil.rmtree(child) if child.is_dir() and not child.is_symlink() else child.unlink()
    return descriptor


def remove_stale_partials(folder: Path) -> None:
    """Removes the staging folders in `folder` whose run died (killed, out of memory, power cut).

    One that holds a checkpoint stays, for `kerasforge train --resume`.
    """
    with contextlib.suppress(OSError):
        for staging in folder.iterdir():
            if _is_staging(staging) and (staging / LOCK_NAME).exists() and not has_checkpoint(staging):
                descriptor = _lock(staging, create=False)
                if descriptor is not None:
                    shutil.rmtree(staging, ignore_errors=True)
                    os.close(descriptor)


class RunFolder:
    """Reserves a fresh run folder and publishes it atomically.

    Files are written to a hidden staging folder beside the final one
    (`.NAME.partial`) and renamed into place by `commit()`, so an interrupted
    or failed run never leaves a half-written folder and never touches an
    earlier run's files. Without an explicit path the folder is
    `ROOT/NAME-YYYYmmdd-HHMMSS`, with `-2`, `-3`, ... appended when that exists.

    The running process holds a lock on a file in its staging folder. A
    staging folder whose process is gone (killed by SIGKILL or the
    out-of-memory killer) is stale: it is removed, or taken over when it is
    the folder asked for, so it never blocks a later run; a live run's
    folder is never touched. Leaving the `with` block without `commit()`
    removes the staging folder and the parent folders it created.

    A staging folder that holds a checkpoint (see `checkpoint_files`) is
    kept instead: when its run is killed, and when it is stopped by Ctrl-C or
    SIGTERM. Asking for its run folder again raises `ResumableRunError`
    unless `fresh` discards the checkpoint, and `resume` takes the folder
    over as it is, to go on training. `commit()` publishes the run without
    its checkpoint.

    Args:
        name: String. Recipe name, used in the default folder name.
        path: Optional path of the run folder. It must not exist yet, or be empty.
        root: Parent of default run folders. Defaults to `runs`.
        resume: Boolean. Take over the staging folder of the killed run
            `path`, checkpoint and all. Defaults to `False`.
        fresh: Boolean. Discard the checkpoint of a killed run in `path`
            and start afresh. Defaults to `False`.

    Raises:
        RunDirError: if `path` is empty, is a file, or exists and is not
            empty; with `resume`, if `path` has no killed run to resume.
        ResumableRunError: on entering, if `path` holds a killed run's
            checkpoint and neither `resume` nor `fresh` is set.

    Example:

    ```python
    with RunFolder("digits_mlp") as folder:
        (folder.staging / "metrics.json").write_text("{}")
        folder.commit()
    print(folder.path)
    ```
    """

    def __init__(
        self,
        name: str,
        path: str | Path | None = None,
        root: str | Path = "runs",
        resume: bool = False,
        fresh: bool = False,
    ):
        self.name = name
        self.requested = check_folder_argument(path)
        check_folder_argument(root, "runs_root")
        self.root = Path(root)
        self.resume, self.fresh = resume, fresh
        if resume:
            self._check_resumable()
        elif self.requested is not None and self.requested.exists():
            if not self.requested.is_dir():
                raise RunDirError(f"--run-dir {str(self.requested)!r} is a file, not a folder")
            if any(self.requested.iterdir()):
                raise RunDirError(
                    f"--run-dir {str(self.requested)!r} already exists and is not empty; "
                    "kerasforge never overwrites a run: choose a new folder"
                )
        self.path: Path | None = None
        self.staging: Path | None = None
        self._lock = None
        self._created: list[Path] = []

    def _check_resumable(self) -> None:
        path = self.requested
        if path is None:
            raise RunDirError("resuming needs the run folder of the killed run: pass --resume RUN_DIR")
        if self.fresh:
            raise RunDirError(f"--resume {str(path)!r} and --fresh contradict each other: choose one")
        if self._occupied(path):
            raise RunDirError(
                f"--resume {str(path)!r}: that run finished and was published; nothing to resume"
            )
        if not (staging_path(path) / CHECKPOINT_FOLDER).is_dir():
            raise RunDirError(
                f"--resume {str(path)!r}: no killed run to resume there (no checkpoint in "
                f"{str(staging_path(path))!r}); start it with --run-dir {shlex.quote(str(path))}"
            )

    @staticmethod
    def _occupied(path: Path) -> bool:
        return path.exists() and (not path.is_dir() or any(path.iterdir()))

    def _candidates(self):
        if self.requested is not None:
            yield self.requested
            return
        stamp = datetime.datetime.now().strftime("%Y%m%d-%H%M%S")
        base = self.root / f"{self.name}-{stamp}"
        yield base
        for suffix in range(2, 1000):
            yield base.with_name(f"{base.name}-{suffix}")

    def _reserve(self, staging: Path) -> int | None:
        if self.resume:
            return _lock(staging, create=not (staging / LOCK_NAME).exists())
        try:
            staging.mkdir()
        except FileExistsError:
            return self._reserve_existing(staging)
        except OSError as error:
            raise creation_error(self.requested or self.root, error) from None
        return _lock(staging, create=True)

    def _reserve_existing(self, staging: Path) -> int | None:
        """Takes over the staging folder of a dead run, unless it holds a checkpoint to resume."""
        epochs = checkpoint_epochs(staging)
        if not epochs or self.fresh:
            return _take_over(staging)
        descriptor = _lock(staging, create=not (staging / LOCK_NAME).exists())
        if descriptor is None:
            return None  # a live run
        os.close(descriptor)
        if self.requested is None:
            return None  # a default folder: leave it for --resume and try the next name
        raise ResumableRunError(self.requested, epochs[0])

    def __enter__(self):
        try:
            return self._enter()
        except BaseException:
            remove_if_empty(self._created)
            self._created = []
            raise

    def _enter(self):
        wanted = self.requested or self.root / self.name
        self._created = make_folders(wanted.parent, wanted=self.requested or self.root)
        parent = wanted.parent
        remove_stale_partials(parent)
        for candidate in self._candidates():
            if self._occupied(candidate):
                continue
            staging = staging_path(candidate)
            descriptor = self._reserve(staging)
            if descriptor is None:
                if self.requested is not None:
                    owner = _read_owner(staging / LOCK_NAME)
                    who = f" (pid {owner['pid']} on {owner.get('host')})" if "pid" in owner else ""
                    raise RunDirError(
                        f"--run-dir {str(candidate)!r} is being written right now by another "
                        f"kerasforge run{who}; choose another folder"
                    )
                continue  # another run is writing there right now
            self.path, self.staging, self._lock = candidate, staging, descriptor
            return self
        raise RunDirError(f"no free run folder under {str(self.root)!r}")

    def commit(self) -> Path:
        """Moves the staging folder into place and returns the final path."""
        if self.path is None or self.staging is None:
            raise RunDirError("commit() publishes a reserved folder: call it inside `with RunFolder(...)`")
        if self._occupied(self.path):
            raise RunDirError(f"run folder {str(self.path)!r} appeared while this run was writing")
        if self.path.exists():
            self.path.rmdir()  # an empty folder the user made for --run-dir
        # The checkpoint was only for resuming: the published run is the same with or without one.
        shutil.rmtree(self.staging / CHECKPOINT_FOLDER, ignore_errors=True)
        # Unlocked first: a folder holding a lock file is never a finished run.
        (self.staging / LOCK_NAME).unlink(missing_ok=True)
        os.replace(self.staging, self.path)
        self.staging = None
        self._release()
        return self.path

    def check(self) -> None:
        """Reserves the folder and releases it at once, leaving nothing behind.

        Raises:
            RunDirError: now, if the folder cannot be made (see `make_folders`).
        """
        with self:
            pass

    def _release(self) -> None:
        if self._lock is not None:
            os.close(self._lock)
            self._lock = None

    def __exit__(self, exc_type, exc, traceback):
        if self.staging is not None:
            stopped = isinstance(exc, KeyboardInterrupt) and has_checkpoint(self.staging)
            if stopped:
                # Stopped (Ctrl-C, SIGTERM from a scheduler): what the checkpoint holds is kept.
                exc.when_stopped = f"resume with: kerasforge train --resume {shlex.quote(str(self.path))}"
            if not (stopped or self.resume):  # a resumed folder was there before: never removed
                shutil.rmtree(self.staging, ignore_errors=True)
                remove_if_empty(self._created)
                if isinstance(exc, KeyboardInterrupt):
                    exc.when_stopped = None  # a checkpoint kept inside (a compare's variant) went with it
            self.staging = None
            self._release()
        self._created = []
        return False
