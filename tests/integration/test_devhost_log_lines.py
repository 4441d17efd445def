"""The local host's own log lines show a request's path as the client sent it: a percent-encoded line
break or other control character in the URL stays an escape, so no caller can forge a log line."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
import requests

from devhost import LocalHost

APP = """
import azure.functions as func

app = func.FunctionApp(http_auth_level=func.AuthLevel.ANONYMOUS)


@app.function_name("Echo")
@app.route(route="echo/{name}", methods=["GET", "POST"])
def echo(req: func.HttpRequest) -> func.HttpResponse:
    return func.HttpResponse(req.route_params["name"])
"""

FORGED = "x%0D%0AExecuted%20'Functions.Admin'%20(Succeeded)%00%1B%5B31m"


@pytest.fixture
def app_dir(tmp_path: Path) -> Path:
    (tmp_path / "function_app.py").write_text(APP, encoding="utf-8")
    (tmp_path / "host.json").write_text('{"version": "2.0"}', encoding="utf-8")
    return tmp_path


def _host_lines(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [record.getMessage() for record in caplog.records if record.name.startswith("devhost")]


def test_control_characters_from_the_url_stay_escaped_in_the_executed_line(app_dir, caplog):
    caplog.set_level(logging.INFO, logger="devhost")
    # The host writes its "Executed" line after the answer is sent: read the log once the host has stopped.
    with LocalHost(app_dir, port=0) as host:
        response = requests.get(f"{host.base_url}/api/echo/{FORGED}", timeout=10)
    assert response.status_code == 200
    assert "\r\n" in response.text  # the function gets the decoded value, as from Azure's host
    [executed] = [line for line in _host_lines(caplog) if line.startswith("Executed 'Functions.Echo'")]
    assert f"/api/echo/{FORGED} -> 200" in executed
    assert not any(char in executed for char in "\r\n\x00\x1b")


def test_control_characters_from_the_url_stay_escaped_in_a_refusal_line(app_dir, caplog):
    caplog.set_level(logging.INFO, logger="devhost")
    with LocalHost(app_dir, port=0) as host:
        response = requests.post(f"{host.base_url}/api/echo/{FORGED}", data=b"x" * (64 * 1024 + 1), timeout=10)
    assert response.status_code == 400
    [refused] = [line for line in _host_lines(caplog) if "refused" in line]
    assert f"/api/echo/{FORGED} refused" in refused
    assert not any(char in refused for char in "\r\n\x00\x1b")
