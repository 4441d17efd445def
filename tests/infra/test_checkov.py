"""checkov over infra/: no failed check and no file it could not parse, apart from the justified skips
in infra/.checkov.yaml and the inline suppressions. checkov runs once per session (about 15 s)."""

from __future__ import annotations

import json
import re
import subprocess

import pytest

from devtools.checkov_tool import checkov_command
from tests.infra.bicep import INFRA, ROOT, bicep_files

CONFIG = INFRA / ".checkov.yaml"


@pytest.fixture(scope="module")
def report() -> dict:
    run = subprocess.run(
        [*checkov_command(), "-d", str(INFRA), "--config-file", str(CONFIG), "-o", "json"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert run.stdout.strip(), f"checkov printed nothing (exit {run.returncode}): {run.stderr[-2000:]}"
    data = json.loads(run.stdout)
    [bicep] = [d for d in (data if isinstance(data, list) else [data]) if d["check_type"] == "bicep"]
    return bicep


def test_checkov_reads_every_template(report):
    assert report["summary"]["parsing_errors"] == 0
    assert report["summary"]["passed"] > 0


def test_checkov_finds_no_failed_check(report):
    failed = [
        f"{c['check_id']} {c['check_name']}: {c['resource']} ({c['file_path']})"
        for c in report["results"]["failed_checks"]
    ]
    assert failed == []


def test_every_skipped_check_says_why():
    lines = CONFIG.read_text().splitlines()
    skips = [i for i, line in enumerate(lines) if re.match(r"\s*- CKV_", line)]
    assert 0 < len(skips) <= 12, "the skip list is meant to stay short"
    for i in skips:
        # a reason on the line itself or in the comment block right above it
        assert "#" in lines[i] or lines[i - 1].strip().startswith(("#", "- CKV_")), lines[i]
    for path in bicep_files():
        for line in path.read_text().splitlines():
            if "checkov:skip=" in line:
                assert re.search(r"checkov:skip=CKV_\w+:\S", line), f"{path.name}: suppression without reason"
