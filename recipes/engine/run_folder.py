"""A run folder that appears only when a run has finished writing it."""

import datetime
import os
import shutil
from pathlib import Path

from kerasforge.errors import RunDirError


class RunFolder:
    """Reserves a fresh run folder and publishes it atomically.

    Files are written to a hidden staging folder beside the final one
    (`.NAME.partial`) and renamed into place by `commit()`, so an interrupted
    or failed run never leaves a half-written folder and never touches an
    earlier run's files. Without an explicit path the folder is
    `ROOT/NAME-YYYYmmdd-HHMMSS`, with `-2`, `-3`, ... appended when that exists.

    Args:
        name: String. Recipe name, used in the default folder name.
        path: Optional path of the run folder. It must not exist yet, or be empty.
        root: Parent of default run folders. Defaults to `runs`.

    Raises:
        RunDirError: if `path` exists and is not empty.

    Example:

    ```python
    with RunFolder("digits_mlp") as folder:
        (folder.staging / "metrics.json").write_text("{}")
        folder.commit()
    print(folder.path)
    ```
    """

    def __init__(self, name: str, path: str | Path | None = None, root: str | Path = "runs"):
        self.name = name
        self.requested = Path(path) if path is not None else None
        self.root = Path(root)
        if self.requested is not None and self._occupied(self.requested):
            raise RunDirError(
                f"--run-dir {str(self.requested)!r} already exists and is not empty; "
                "kerasforge never overwrites a run: choose a new folder"
            )
        self.path: Path | None = None
        self.staging: Path | None = None

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

    def __enter__(self):
        for candidate in self._candidates():
            staging = candidate.parent / f".{candidate.name}.partial"
            if self._occupied(candidate):
                continue
            candidate.parent.mkdir(parents=True, exist_ok=True)
            try:
                staging.mkdir()
            except FileExistsError:
                continue  # another run is writing there right now
            self.path, self.staging = candidate, staging
            return self
        raise RunDirError(f"no free run folder for {str(self.requested or self.root)!r}")

    def commit(self) -> Path:
        """Moves the staging folder into place and returns the final path."""
        if self._occupied(self.path):
            raise RunDirError(f"run folder {str(self.path)!r} appeared while this run was writing")
        if self.path.exists():
            self.path.rmdir()  # an empty folder the user made for --run-dir
        os.replace(self.staging, self.path)
        self.staging = None
        return self.path

    def __exit__(self, exc_type, exc, traceback):
        if self.staging is not None:
            shutil.rmtree(self.staging, ignore_errors=True)
        return False
