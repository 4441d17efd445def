"""SweepAbandonedClaims: every 5 minutes, finish what a dead worker or a lost message left behind."""

from __future__ import annotations

import logging

import azure.functions as func

from shared import bootstrap

# The use case and its ports are imported when the function first runs, not with the blueprint:
# indexing needs only the decorators (cold start, bench/cold_start.py). Under
# bootstrap.first_use(), so that first runs at the same time import one after the other.

logger = logging.getLogger(__name__)

bp = func.Blueprint()


# NCRONTAB with seconds: at second 0 of every fifth minute. A stale claim is at most about three
# minutes past its window before a check is queued; the local host does not run timers
# (`python -m admin sweep` does the same by hand).
@bp.function_name("SweepAbandonedClaims")
@bp.timer_trigger(arg_name="timer", schedule="0 */5 * * * *", run_on_startup=False, use_monitor=True)
def sweep_abandoned_claims(timer: func.TimerRequest) -> None:
    with bootstrap.first_use():
        from shared.usecases import sweep_abandoned

    report = sweep_abandoned(bootstrap.services())
    if report.checked or report.without_request or report.writebacks:
        logger.warning(
            "sweep: %d check(s) queued, %d abandoned without a request, %d write-back(s) queued again",
            len(report.checked),
            len(report.without_request),
            len(report.writebacks),
        )
