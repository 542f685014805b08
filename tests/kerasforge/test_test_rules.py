"""The house rules for tests that a machine can check, on the source of every test module.

`pytest.raises` always says which error it expects (`match=`): a bare one passes on any
error of that type, including one raised for another reason than the test's.
"""

import ast
from pathlib import Path

TESTS = Path(__file__).resolve().parents[1]


def _raises_without_match(path: Path) -> list[int]:
    lines = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        called = node.func if isinstance(node, ast.Call) else None
        if (
            isinstance(called, ast.Attribute)
            and called.attr == "raises"
            and isinstance(called.value, ast.Name)
            and called.value.id == "pytest"
            and not any(keyword.arg == "match" for keyword in node.keywords)
        ):
            lines.append(node.lineno)
    return lines


def test_every_pytest_raises_has_a_match():
    bare = {
        str(path.relative_to(TESTS)): lines
        for path in sorted(TESTS.rglob("*.py"))
        if (lines := _raises_without_match(path))
    }
    assert not bare, f"pytest.raises without match= (file: lines): {bare}"


def test_the_check_finds_a_bare_raises(tmp_path):
    example = tmp_path / "test_example.py"
    example.write_text(
        "import pytest\n\n"
        "def test_a():\n"
        "    with pytest.raises(ValueError):\n"
        "        int('x')\n"
        "    with pytest.raises(ValueError, match='invalid'):\n"
        "        int('x')\n",
        encoding="utf-8",
    )
    assert _raises_without_match(example) == [4]
