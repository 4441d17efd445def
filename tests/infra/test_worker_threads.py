"""The Python worker gets a thread for every invocation host.json lets one instance run (issue 27).

Every function of the app is a `def`: the worker runs each invocation on a thread of one ThreadPoolExecutor
per worker process whose max_workers is PYTHON_THREADPOOL_THREAD_COUNT (Azure/azure-functions-python-worker,
azure_functions_worker/dispatcher.py, Dispatcher._get_sync_tp_max_workers and _create_sync_call_tp). The
queue trigger hands one instance up to batchSize + newBatchThreshold messages of the retry queue at once
(host.json extensions.queues; Microsoft Learn, "Azure Queue storage trigger", host.json settings). Fewer
threads than that and queue invocations wait for a thread, with HTTP requests queued behind them.

Microsoft Learn, "App settings reference for Azure Functions" (functions-app-settings.md,
PYTHON_THREADPOOL_THREAD_COUNT) gives 32 as the setting's max value; the worker's code accepts any whole
number from 1 on Python 3.9 and later (PYTHON_THREADPOOL_THREAD_COUNT_MAX = sys.maxsize), so the documented
figure is the bound kept here.
"""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest

from tests.infra.bicep import INFRA, ROOT
from tests.infra.bicep_eval import Scope, Template
from tests.infra.deployment import STAND_INS, app_settings, azd_parameters, connectivity_variants, main_scope

THREAD_COUNT = "PYTHON_THREADPOOL_THREAD_COUNT"
# functions-app-settings.md, PYTHON_THREADPOOL_THREAD_COUNT: "Max value 32".
DOCUMENTED_MAXIMUM = 32


def queue_invocations_per_instance(host: dict) -> int:
    """What one instance runs of a queue at once: batchSize + newBatchThreshold, both set in host.json (the
    host's defaults depend on the instance's cores, so the app states them)."""
    queues = host["extensions"]["queues"]
    return int(queues["batchSize"]) + int(queues["newBatchThreshold"])


def host_json(root: Path = ROOT) -> dict:
    return json.loads((root / "host.json").read_text())


def thread_count(settings: dict[str, str]) -> int:
    assert THREAD_COUNT in settings, f"{THREAD_COUNT} is not set: the worker would pick a size of its own"
    return int(settings[THREAD_COUNT])


@pytest.mark.parametrize("connectivity", connectivity_variants())
def test_every_variant_gives_a_thread_to_each_queue_invocation_and_leaves_threads_for_http(connectivity):
    threads = thread_count(app_settings(main_scope(connectivity=connectivity)))
    queue = queue_invocations_per_instance(host_json())

    assert threads >= queue, f"{threads} threads for {queue} queue invocations host.json allows one instance"
    assert threads > queue, "no thread left for an HTTP request while a full queue batch runs"


@pytest.mark.parametrize("connectivity", connectivity_variants())
def test_the_thread_count_stays_within_the_documented_maximum(connectivity):
    assert thread_count(app_settings(main_scope(connectivity=connectivity))) <= DOCUMENTED_MAXIMUM


def test_the_thread_count_follows_host_json(tmp_path):
    """Derived, not copied: the same templates beside a host.json with a smaller queue batch give the worker
    as many fewer threads."""
    shutil.copytree(INFRA, tmp_path / "infra")
    host = host_json()
    smaller = json.loads(json.dumps(host))
    smaller["extensions"]["queues"].update(batchSize=4, newBatchThreshold=2)
    (tmp_path / "host.json").write_text(json.dumps(smaller))
    copied = Scope(Template(tmp_path / "infra" / "main.bicep"), azd_parameters(), STAND_INS)

    before = thread_count(app_settings(main_scope()))
    after = thread_count(app_settings(copied))

    assert before - after == queue_invocations_per_instance(host) - queue_invocations_per_instance(smaller)


def _settings_page_row(name: str) -> str:
    for line in (ROOT / "docs" / "settings.md").read_text(encoding="utf-8").splitlines():
        if line.startswith(f"| `{name}` |"):
            return line
    raise AssertionError(f"docs/settings.md has no row for {name}")


@pytest.mark.parametrize("connectivity", connectivity_variants())
def test_the_sap_pool_guidance_names_the_thread_count_infra_sets_and_the_default_pool_fits_in_it(connectivity):
    """docs/settings.md tells the operator to set SAP_POOL_SIZE to the worker's thread count: the setting it
    names is one infra gives every variant, and infra's own SAP_POOL_SIZE (0: no pool) is never more
    connections than the threads that could hold them."""
    guidance = re.search(r"thread count \(`(?P<name>[A-Z_]+)`\)", _settings_page_row("SAP_POOL_SIZE"))
    assert guidance is not None, "the SAP_POOL_SIZE row no longer says which thread count to match"
    settings = app_settings(main_scope(connectivity=connectivity))

    assert guidance["name"] == THREAD_COUNT
    assert 0 <= int(settings["SAP_POOL_SIZE"]) <= thread_count(settings)
