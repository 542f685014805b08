"""Every mistake is one line on stderr and exit status 2, found before TensorFlow is imported."""

import re
import subprocess
from pathlib import Path

import pytest

from kerasforge._quiet_backend import is_backend_log_line

COMMANDS = {
    "train": ["train", "digits_mlp"],
    "lr-find": ["lr-find", "digits_mlp"],
    "compare": ["compare", "gd_variants"],
    "tune": ["tune", "digits_mlp"],
}


def files_under(folder: Path) -> list[str]:
    return sorted(str(path.relative_to(folder)) for path in folder.rglob("*"))


def assert_one_error_line(result, message):
    assert result.returncode == 2, result.stderr
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("kerasforge: error: "), lines[0]
    assert re.search(message, lines[0]), lines[0]


@pytest.mark.parametrize(
    "arguments, message",
    [
        (["train", "digits_mlp", "--set", "training.batch_size=0"], r"`training.batch_size`: .* Received: 0"),
        (["validate", "digits_mlp", "--set", "training.batch_size=0"], r"`training.batch_size`"),
        (["compare", "gd_variants", "--set", "training.epochz=3"], r"did you mean `training.epochs`"),
        (["compare", "digits_mlp"], r"has no `variants:` section"),
        (["tune", "digits_mlp", "--set", "model.activation=relux"], r"'relux' is not allowed"),
        (["tune", "digits_mlp", "--role", "worker"], r"--role and --oracle go together"),
        (["tune", "digits_mlp", "--tuner", "hyperband", "--set", "search.epochs=[2, 4]"], r"allots epochs"),
        (["lr-find", "digits_mlp", "--set", "training.optimizer=adamm"], r"'adamm' is not allowed"),
        (["lr-find", "digits_mlp", "--steps", "1"], r"`steps` \(--steps\) must be a whole number >= 2"),
    ],
)
def test_mistakes_are_one_line_found_before_tensorflow_is_imported(kerasforge, tmp_path, arguments, message):
    result = kerasforge(*arguments, cwd=tmp_path, imports=True)
    assert_one_error_line(result, message)
    assert result.stdout.splitlines()[-1] == "imported the backend: False"
    assert files_under(tmp_path) == []


@pytest.fixture
def read_only_dir(tmp_path):
    """A folder on a read-only file system, and the command prefix under which it is one.

    Tests run as root, for whom `chmod` stops no write, so the folder gets a
    read-only tmpfs mounted over it in a private mount namespace (`unshare
    -rm`, which needs no privilege). Where user namespaces are not allowed,
    `/sys` stands in: a file system that refuses new folders, even to root.
    """
    folder = tmp_path / "readonly"
    folder.mkdir()
    prefix = ["unshare", "-rm", "sh", "-c", f'mount -t tmpfs -o ro tmpfs "{folder}" && exec "$@"', "sh"]
    try:
        probe = subprocess.run([*prefix, "touch", str(folder / "x")], capture_output=True, text=True)
    except FileNotFoundError:
        probe = None
    if probe is not None and "Read-only file system" in probe.stderr:
        return prefix, folder / "run", r"'.*readonly' is on a read-only file system"
    return (), Path("/sys/kerasforge-run"), r"no permission to create folders in '/sys'"


@pytest.mark.parametrize("command", COMMANDS)
@pytest.mark.parametrize("case", ["parent is a file", "runs is a file", "under /proc", "empty", "read-only"])
def test_a_run_folder_that_cannot_be_made_is_one_line_before_tensorflow(
    kerasforge, tmp_path, request, command, case
):
    prefix = ()
    if case == "parent is a file":
        (tmp_path / "afile").touch()
        run_dir, message = ["--run-dir", "afile/run"], r"'afile' is a file, not a folder"
    elif case == "runs is a file":
        (tmp_path / "runs").touch()
        run_dir, message = [], r"'runs' is a file, not a folder"
    elif case == "under /proc":
        run_dir, message = ["--run-dir", "/proc/kerasforge-run"], r"'/proc' does not allow new folders"
    elif case == "empty":
        run_dir, message = ["--run-dir", ""], r"Argument `run_dir` must name a folder. Received: run_dir=''"
    else:
        prefix, path, message = request.getfixturevalue("read_only_dir")
        run_dir = ["--run-dir", path]
    before = files_under(tmp_path)
    result = kerasforge(*COMMANDS[command], *run_dir, cwd=tmp_path, imports=True, prefix=prefix)
    assert_one_error_line(result, message)
    assert result.stdout.splitlines()[-1] == "imported the backend: False"
    assert files_under(tmp_path) == before


@pytest.mark.parametrize(
    "line, backend",
    [
        ("WARNING: All log messages before absl::InitializeLog() is called are written to STDERR", True),
        (
            "I0000 00:00:1795691767.385646    6189 port.cc:153] oneDNN custom operations are on. "
            "You may see slightly different numerical results",
            True,
        ),
        (
            "E0000 00:00:1795693813.730319   13860 node_def_util.cc:682] NodeDef mentions attribute "
            "use_unbounded_threadpool which is not in the op definition",
            True,
        ),
        (
            "2024-01-01 12:00:00.000000: I tensorflow/core/platform/cpu_feature_guard.cc:210] This binary",
            True,
        ),
        (
            "To enable the following instructions: AVX2 FMA, in other operations, rebuild TensorFlow "
            "with the appropriate compiler flags.",
            True,
        ),
        ("kerasforge: error: --set: `training.batch_size`: ...", False),
        ("I0000 is a fine name for a layer", False),
        ("/path/callbacks/gradient_norm_monitor.py:254: RuntimeWarning: epoch 1: `hidden_1` ...", False),
        ("Traceback (most recent call last):", False),
    ],
)
def test_backend_log_lines_are_told_from_everything_else(line, backend):
    assert is_backend_log_line(line.encode()) is backend


@pytest.mark.slow
def test_a_successful_run_writes_nothing_on_stderr(kerasforge, tmp_path):
    arguments = ["training.epochs=2", "model.hidden=[16]", "data.max_train_rows=300"]
    result = kerasforge(
        "train", "digits_mlp", *[f"--set={item}" for item in arguments], "--quiet", cwd=tmp_path
    )
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    assert "run folder: " in result.stdout


@pytest.mark.slow
def test_an_error_after_tensorflow_is_imported_is_still_one_line(kerasforge, tmp_path):
    # The objective is checked against the recipe's metrics once the backend is imported.
    result = kerasforge("tune", "digits_mlp", "--objective", "val_acc", cwd=tmp_path, imports=True)
    assert_one_error_line(result, r"--objective 'val_acc' is not a metric of this recipe")
    assert result.stdout.splitlines()[-1] == "imported the backend: True"


@pytest.mark.slow
def test_compare_shows_backend_log_lines_only_when_asked(kerasforge, tmp_path):
    # `compare` also makes TensorFlow print `E0000 ... NodeDef mentions attribute use_unbounded_threadpool`.
    small = [
        "--set",
        "training.epochs=1",
        "--set",
        "data.synthetic.rows=200",
        "--set",
        "variants={one: {}}",
        "--set",
        "claims=[]",
    ]
    small.append("--quiet")
    quiet = kerasforge("compare", "gd_variants", *small, "--run-dir", tmp_path / "quiet", cwd=tmp_path)
    shown = kerasforge("-v", "compare", "gd_variants", *small, "--run-dir", tmp_path / "shown", cwd=tmp_path)
    assert quiet.returncode == shown.returncode == 0, quiet.stderr
    backend_lines = [
        [line for line in result.stderr.splitlines() if is_backend_log_line(line.encode())]
        for result in (quiet, shown)
    ]
    assert backend_lines[0] == []
    assert any("oneDNN" in line for line in backend_lines[1]), shown.stderr
