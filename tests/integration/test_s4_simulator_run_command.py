"""`scripts/run --sap s4`: the run serves the local S/4 double and points the functions at it; the README's
create answers a customer number that CVI drew in the double, the replay the same number, and the
double's Business Partners outlive the run (its state file in the data dir)."""

from __future__ import annotations

import pytest

from devtools.run import READY_LINE, parse_arguments
from devtools.run.console import RunError
from devtools.run.s4 import S4_STATE_FILE, check_s4_arguments
from tests.support.network import free_port
from tests.support.run_command import RunningCommand
from tests.support.s4_run import created_then_replayed, partners_of_the_sample_account


@pytest.mark.e2e
def test_run_with_sap_s4_creates_the_customer_in_the_s4_double_and_keeps_it(run_environment, data_dir, started_runs):
    port = free_port()
    run = RunningCommand.start(
        "--sap", "s4", "--port", str(port), "--data-dir", str(data_dir), environment=run_environment
    )
    started_runs.append(run)
    assert run.wait_for_line(READY_LINE) is not None, run.output()
    assert "(SAP odata," in run.output() and "SAP S/4 double: Business Partners kept in" in run.output()

    number = created_then_replayed(port)
    run.stop()

    # The run's double kept the partner: a double on the same file finds it by the account's id.
    rows = partners_of_the_sample_account(data_dir / S4_STATE_FILE)
    assert len(rows) == 1 and int(rows[0]["Customer"]) == int(number)


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--sap", "s4", "--sap-faults", "explode"], "--sap-faults (the S/4 double's faults): unknown fault"),
    ],
)
def test_run_with_sap_s4_refuses_what_it_cannot_do_before_starting_anything(argv, message):
    with pytest.raises(RunError, match=message.replace("(", r"\(").replace(")", r"\)")):
        check_s4_arguments(parse_arguments(argv))
