"""The workbook's and the alerts' KQL is kept once, in infra/app/queries/*.kql: every file is loaded by
a template, and docs/monitoring-kql.md quotes each one exactly."""

from __future__ import annotations

import re

import pytest

from tests.infra.bicep import INFRA, ROOT, bicep_files

QUERIES = sorted((INFRA / "app" / "queries").glob("*.kql"))
DOC = ROOT / "docs" / "monitoring-kql.md"
OUTCOMES = {"created", "adopted", "replayed", "queued", "retried", "poisoned", "rejected", "needs_review"}


def test_there_are_queries_for_the_workbook_and_the_alerts():
    names = {q.name for q in QUERIES}
    assert {"alert-poisoned.kql", "alert-failed-creates.kql", "creates-by-outcome.kql", "sap-latency.kql"} <= names


@pytest.mark.parametrize("query", QUERIES, ids=lambda q: q.name)
def test_every_query_file_is_loaded_by_a_template(query):
    loaded = "".join(path.read_text() for path in bicep_files())
    assert f"loadTextContent('queries/{query.name}')" in loaded


@pytest.mark.parametrize("query", QUERIES, ids=lambda q: q.name)
def test_the_doc_quotes_every_query_exactly(query):
    blocks = dict(re.findall(r"`infra/app/queries/([\w.-]+)`\n\n```kusto\n(.*?)```", DOC.read_text(), re.DOTALL))
    assert query.name in blocks, f"docs/monitoring-kql.md does not quote {query.name}"
    assert blocks[query.name] == query.read_text()


@pytest.mark.parametrize("query", QUERIES, ids=lambda q: q.name)
def test_queries_use_only_the_metric_names_and_outcomes_of_the_monitoring_contract(query):
    text = query.read_text()
    assert set(re.findall(r'"(sapsync\.[\w.]+)"', text)) <= {
        "sapsync.creates",
        "sapsync.sap.duration",
        "sapsync.writeback.duration",
    }
    quoted = set(re.findall(r'"([a-z_]+)"', text)) - {"outcome"}
    assert quoted <= OUTCOMES, f"not an outcome of sapsync.creates: {quoted - OUTCOMES}"
