"""Parsing of the Bicep templates for the static checks (no Bicep compiler installs here).

tree-sitter-bicep for the syntax (every file, every node), pycep-parser for the structure (resources,
their API versions and properties). Both cached per file for the session.
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
INFRA = ROOT / "infra"


def bicep_files() -> list[Path]:
    return sorted(INFRA.rglob("*.bicep"))


@functools.cache
def parse_bicep(path: Path) -> dict[str, Any]:
    from pycep import BicepParser

    return BicepParser().parse(file_path=path)


@functools.cache
def _tree_sitter_parser():  # -> tree_sitter.Parser
    import tree_sitter
    import tree_sitter_bicep

    return tree_sitter.Parser(tree_sitter.Language(tree_sitter_bicep.language()))


def syntax_errors(source: bytes) -> list[str]:
    """Every ERROR or MISSING node of the source, as 'line:column kind'."""
    tree = _tree_sitter_parser().parse(source)
    problems: list[str] = []
    stack = [tree.root_node]
    while stack:
        node = stack.pop()
        if node.is_error or node.type == "ERROR":
            problems.append(f"{node.start_point[0] + 1}:{node.start_point[1] + 1} ERROR")
        elif node.is_missing:
            problems.append(f"{node.start_point[0] + 1}:{node.start_point[1] + 1} MISSING {node.type}")
        stack.extend(node.children)
    return problems


def resources(path: Path) -> dict[str, dict[str, Any]]:
    """Symbol -> {type, api_version, existing, config}, with a conditional resource's config unwrapped."""
    found = {}
    for symbol, declaration in parse_bicep(path).get("resources", {}).items():
        config = declaration["config"]
        while isinstance(config, dict) and "config" in config and ("condition" in config or "loop_type" in config):
            config = config["config"]
        found[symbol] = {**declaration, "config": config}
    return found


def all_resources() -> list[tuple[Path, str, dict[str, Any]]]:
    return [(path, symbol, resource) for path in bicep_files() for symbol, resource in resources(path).items()]
