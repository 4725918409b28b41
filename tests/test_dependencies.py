"""Every third-party import is declared in pyproject.toml (a missing one once took the whole site
down), and scripts/ import only the standard library."""

from __future__ import annotations

import ast
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# import name → distribution name, where they differ
DISTRIBUTION = {"python_calamine": "python-calamine", "yaml": "pyyaml",
                "openapi_spec_validator": "openapi-spec-validator", "openapi_schema_validator": "openapi-schema-validator"}


def imported_modules(folder: Path) -> dict[str, str]:
    found = {}
    for path in sorted(folder.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            else:
                continue
            for name in names:
                found.setdefault(name.split(".")[0], path.name)
    return found


def declared() -> tuple[set[str], set[str]]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())
    def names(specs):
        return {spec.split(";")[0].split("[")[0].split("=")[0].split(">")[0].split("<")[0].split("~")[0].strip().lower()
                for spec in specs}
    runtime = names(project["project"]["dependencies"])
    dev = names(project.get("dependency-groups", {}).get("dev", []))
    return runtime, dev


def third_party(modules: dict[str, str]) -> dict[str, str]:
    local = {"ctvdb"} | {p.stem for p in (ROOT / "scripts").glob("*.py")} | {p.stem for p in (ROOT / "bench").glob("*.py")}
    local |= {p.stem for p in (ROOT / "tests").rglob("*.py")} | {p.name for p in (ROOT / "tests").iterdir() if p.is_dir()}
    return {m: where for m, where in modules.items() if m not in sys.stdlib_module_names and m not in local}


def test_runtime_imports_are_runtime_dependencies():
    runtime, _ = declared()
    missing = {m: where for m, where in third_party(imported_modules(ROOT / "ctvdb")).items()
               if DISTRIBUTION.get(m, m).lower() not in runtime}
    assert missing == {}, f"declare these in [project] dependencies: {missing}"


def test_bench_and_test_imports_are_declared():
    runtime, dev = declared()
    for folder in ("bench", "tests"):
        missing = {m: where for m, where in third_party(imported_modules(ROOT / folder)).items()
                   if DISTRIBUTION.get(m, m).lower() not in runtime | dev}
        assert missing == {}, f"declare these in pyproject.toml: {missing}"


def test_scripts_use_only_the_standard_library():
    assert third_party(imported_modules(ROOT / "scripts")) == {}


def test_the_check_itself_notices_an_undeclared_import(tmp_path):
    (tmp_path / "mod.py").write_text("import requests\nfrom yaml import safe_load\nimport json\n")
    found = imported_modules(tmp_path)
    assert set(third_party(found)) == {"requests", "yaml"}
