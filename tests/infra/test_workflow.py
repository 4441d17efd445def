"""The GitHub workflows use actions pinned by full commit SHA, and checkout leaves no credentials behind
(issue 20 item 7). GitHub's "Security hardening for GitHub Actions": pinning an action to a full-length
commit SHA is the only way to use it as an immutable release; actions/checkout's `persist-credentials`
(default true, its action.yml) writes the job's token into the work tree's git config."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from tests.infra.bicep import ROOT

WORKFLOWS = sorted((ROOT / ".github" / "workflows").glob("*.y*ml"))


def _steps(path: Path) -> list[dict]:
    workflow = yaml.safe_load(path.read_text())
    return [step for job in workflow["jobs"].values() for step in job.get("steps", [])]


def test_there_are_workflows_to_check():
    assert WORKFLOWS


@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda path: path.name)
def test_every_action_is_pinned_by_full_commit_sha_with_its_release_named(path):
    lines = path.read_text().splitlines()
    uses = [line for line in lines if re.match(r"\s*(- )?uses:", line)]
    assert uses
    for line in uses:
        assert re.search(r"uses: [\w.-]+/[\w./-]+@[0-9a-f]{40} # v\d+(\.\d+)*$", line), line


@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda path: path.name)
def test_checkout_persists_no_credentials(path):
    checkouts = [step for step in _steps(path) if str(step.get("uses", "")).startswith("actions/checkout@")]
    assert checkouts
    assert all(step.get("with", {}).get("persist-credentials") is False for step in checkouts)
