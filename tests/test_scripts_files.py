"""Every script in scripts/ can be run by systemd as it is: executable, a python3 shebang,
`main(argv) -> int`, and only the standard library (or a sibling script) imported."""

import ast
import os
import subprocess
import sys
from pathlib import Path

import pytest

SCRIPTS = Path(__file__).resolve().parent.parent / "scripts"
ALL = sorted(SCRIPTS.glob("*.py"))
SIBLINGS = {path.stem for path in ALL}


def test_there_are_scripts():
    assert {"daily_update", "db_backup", "notify", "install", "verify"} <= SIBLINGS


@pytest.mark.parametrize("path", ALL, ids=lambda p: p.name)
def test_executable_on_disk_and_in_git(path):
    assert os.stat(path).st_mode & 0o111 == 0o111, f"chmod +x {path}"
    tracked = subprocess.run(["git", "ls-files", "--stage", "--", path.name], cwd=SCRIPTS,
                             capture_output=True, text=True)
    if tracked.returncode == 0 and tracked.stdout:  # committed: the bit must be in git, or a clone loses it
        assert tracked.stdout.startswith("100755 "), f"git update-index --chmod=+x {path}"


@pytest.mark.parametrize("path", ALL, ids=lambda p: p.name)
def test_shebang_main_and_standard_library_only(path):
    source = path.read_text(encoding="utf-8")
    assert source.startswith("#!/usr/bin/env python3\n")
    tree = ast.parse(source)
    mains = [n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name == "main"]
    assert mains and [a.arg for a in mains[0].args.args] == ["argv"]
    assert 'if __name__ == "__main__":\n    sys.exit(main())' in source
    for node in ast.walk(tree):
        names = []
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0:
            names = [node.module]
        for name in names:
            top = name.split(".")[0]
            assert top in sys.stdlib_module_names or top in SIBLINGS or top == "__future__", f"{path.name}: {name}"


@pytest.mark.parametrize("path", ALL, ids=lambda p: p.name)
def test_help_runs_with_the_system_python(path):
    python = "/usr/bin/python3" if os.path.exists("/usr/bin/python3") else sys.executable
    result = subprocess.run([python, "-E", "-s", path, "--help"], capture_output=True, text=True, timeout=30)
    assert result.returncode == 0, result.stderr
    assert "usage:" in result.stdout
