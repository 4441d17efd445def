"""The one log record of one SAP create, whichever adapter made it (rfc.py, business_partner.py): its outcome
and duration, the account id as a field and nothing of the request. The function app passes DEBUG (each
outcome has its own INFO record in the use case, and the dependency span times the call), the agent INFO
(shared/bootstrap/sap.py)."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from shared.sap.errors import SapBusinessRejection, SapNeedsReview
from shared.sap.port import SapCustomerCreated


def logged_create(
    logger: logging.Logger, level: int, account_id: str, create: Callable[[], SapCustomerCreated]
) -> SapCustomerCreated:
    """`create()`, logged once at `level` as "SAP create <outcome> in N ms" (failed, when it raises
    anything but a rejection or a hold)."""
    started = time.monotonic()
    outcome = "failed"
    try:
        created = create()
        outcome = "adopted by the duplicate guard" if created.adopted else "created"
        return created
    except SapBusinessRejection:
        outcome = "rejected"
        raise
    except SapNeedsReview:
        outcome = "held for review"
        raise
    finally:
        elapsed_ms = round((time.monotonic() - started) * 1000)
        logger.log(
            level,
            "SAP create %s in %d ms",
            outcome,
            elapsed_ms,
            extra={"account_id": account_id, "duration_ms": elapsed_ms},
        )
