"""What a Bicep compiler would check first, and the static checks can too: every module is given exactly
the parameters its file declares (all required ones, no unknown one), and every `module.outputs.name`
used exists in that module's file."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.infra.bicep import ROOT, bicep_files, parse_bicep

FILES_WITH_MODULES = [path for path in bicep_files() if parse_bicep(path).get("modules")]


def _module_config(module: dict) -> dict:
    config = module["config"]
    while "config" in config and ("condition" in config or "loop_type" in config):
        config = config["config"]
    return config


def _id(path: Path) -> str:
    return path.relative_to(ROOT).as_posix()


@pytest.mark.parametrize("path", FILES_WITH_MODULES, ids=_id)
def test_every_module_gets_all_its_required_parameters_and_no_unknown_one(path):
    for symbol, module in parse_bicep(path)["modules"].items():
        target = parse_bicep(path.parent / module["detail"]["path"])
        declared = target.get("parameters", {})
        required = {name for name, parameter in declared.items() if parameter.get("default") is None}
        given = set(_module_config(module).get("params", {}))
        assert given - set(declared) == set(), f"{symbol}: parameters its file does not declare"
        assert required - given == set(), f"{symbol}: required parameters not given"


@pytest.mark.parametrize("path", FILES_WITH_MODULES, ids=_id)
def test_every_module_output_used_is_declared_by_the_module(path):
    modules = parse_bicep(path)["modules"]
    text = path.read_text()
    for symbol, output in re.findall(r"\b(\w+)\.outputs\.(\w+)", text):
        assert symbol in modules, f"{symbol}.outputs.{output}: no module {symbol} in {path.name}"
        outputs = parse_bicep(path.parent / modules[symbol]["detail"]["path"]).get("outputs", {})
        assert output in outputs, f"{symbol}.outputs.{output}: {modules[symbol]['detail']['path']} has no such output"


@pytest.mark.parametrize("path", bicep_files(), ids=_id)
def test_every_parameter_and_variable_is_used(path):
    """Bicep's linter rules no-unused-params and no-unused-vars, which `bicep lint` in CI applies too."""
    parsed = parse_bicep(path)
    code = "\n".join(line for line in path.read_text().splitlines() if not line.strip().startswith("//"))
    for name in [*parsed.get("parameters", {}), *parsed.get("variables", {})]:
        assert len(re.findall(rf"(?<![\w.]){re.escape(name)}\b", code)) > 1, f"{path.name}: {name} is never used"
