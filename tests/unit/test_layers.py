"""Layer rules import-linter cannot state: an external package's subpackage (azure.functions) as forbidden."""

from __future__ import annotations

import ast
from pathlib import Path

SHARED = Path(__file__).resolve().parents[2] / "shared"


def _imported_modules(path: Path) -> set[str]:
    modules: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            modules.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            modules.add(node.module)
            modules.update(f"{node.module}.{alias.name}" for alias in node.names)
    return modules


def test_shared_never_imports_azure_functions():
    offenders = sorted(
        str(path.relative_to(SHARED.parent))
        for path in SHARED.rglob("*.py")
        if any(m == "azure.functions" or m.startswith("azure.functions.") for m in _imported_modules(path))
    )
    assert offenders == []


def test_the_layer_check_sees_an_azure_functions_import(tmp_path):
    sample = tmp_path / "sample.py"
    sample.write_text("from azure import functions as func\nimport azure.functions\n", encoding="utf-8")
    assert "azure.functions" in _imported_modules(sample)
