"""`python -m admin reconcile [--apply]`: Salesforce customers without an SAP number that the sync never
saw (the flow was off, a run was lost) are queued for creation, exactly once, and those it created whose
number never reached Salesforce get their write-back queued (shared.usecases.reconcile).

A dry run by default; a progress bar (rich) on a terminal while the accounts are read and looked up;
a summary at the end; exit codes a script can branch on (admin.ExitCode): 0 nothing to do or all
queued, 5 a dry run found accounts to queue, 1 accounts that cannot be queued (their data is what the
flow's request would be refused for), 3 storage, 4 Salesforce.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from admin import ExitCode
from shared.bootstrap import EntryPoint, bootstrap, customer_accounts
from shared.core.reconcile import ReconcileAction
from shared.settings import Settings
from shared.usecases.reconcile import Progress, ReconcileReport, reconcile_customers
from shared.usecases.reconcile_pacing import DEFAULT_WINDOW
from shared.usecases.reconcile_report import AccountIds

# Fewer accounts than this are read in a moment: no bar to flash by.
PROGRESS_FROM = 100
_WORKING = "reconcile"
_WAITING = "reconcile: waiting for the queue trigger (the window is full)"

_KNOWN_LABELS = {
    ReconcileAction.CREATED_NOT_WRITTEN_BACK: "created in SAP, number not yet in Salesforce",
    ReconcileAction.IN_PROGRESS: "in progress (pending or queued)",
    ReconcileAction.NEEDS_REVIEW: "held for review (admin resolve)",
    ReconcileAction.FAILED: "failed (fix the account, or admin poison replay)",
}


def reconcile(
    settings: Settings,
    *,
    apply: bool,
    as_json: bool,
    progress: bool,
    show: int,
    window: int = DEFAULT_WINDOW,
    console: Any = None,
) -> int:
    services = bootstrap(EntryPoint.OPERATIONS, settings)
    accounts = customer_accounts(settings)
    with _progress_bar(progress, console) as advance:
        report = reconcile_customers(accounts, services, apply=apply, progress=advance, window=window)
    if as_json:
        print(json.dumps(report.to_json(), indent=2))
    else:
        print(summary(report, show))
    return exit_code(report)


def exit_code(report: ReconcileReport) -> int:
    if not report.applied and report.found_work:
        return ExitCode.WORK_FOUND
    if report.invalid:
        return ExitCode.NOTHING_DONE
    return ExitCode.DONE


def summary(report: ReconcileReport, show: int) -> str:
    def accounts(group: AccountIds) -> str:
        if not group or show == 0:
            return ""
        listed = ", ".join(group.ids[:show])
        return f": {listed}" + (f" and {group.count - show} more" if group.count > show else "")

    lines = [
        f"Salesforce customers without an SAP number: {report.seen} read"
        + (f" (Salesforce counted {report.total})" if report.total != report.seen else "")
    ]
    if report.applied:
        lines.append(f"  queued for creation now: {report.queued.count}{accounts(report.queued)}")
    else:
        lines.append(
            f"  would be queued: {report.queued.count}{accounts(report.queued)}"
            + ("  (dry run: run again with --apply to queue them)" if report.queued else "")
        )
    if report.applied:
        lines.append(
            f"  write-back queued now (created in SAP, number not yet in Salesforce): "
            f"{report.writebacks.count}{accounts(report.writebacks)}"
        )
    elif report.writebacks:
        lines.append(
            f"  write-back would be queued (created in SAP, number not yet in Salesforce): "
            f"{report.writebacks.count}{accounts(report.writebacks)}  (dry run: run again with --apply)"
        )
    known = sum(group.count for group in report.skipped.values())
    lines.append(f"  already known to the sync, left alone: {known}")
    for action, label in _KNOWN_LABELS.items():
        group = report.skipped.get(action)
        if group:
            lines.append(f"    {label}: {group.count}{accounts(group)}")
            if action is ReconcileAction.CREATED_NOT_WRITTEN_BACK and not report.writeback_by_function:
                lines.append(
                    "      (SALESFORCE_WRITEBACK is not function: the flow writes numbers back, or nobody; "
                    "with SALESFORCE_WRITEBACK=function, --apply queues their write-back)"
                )
    if report.invalid:
        lines.append(
            f"  not queued, the request would be refused (fix these fields in Salesforce): {report.invalid.count}"
        )
        for account_id, fields in list(report.invalid.fields.items())[:show]:
            lines.append(f"    {account_id}: {', '.join(fields)}")
        if report.invalid.count > show:
            kept = len(report.invalid.fields)
            listed = "all" if kept == report.invalid.count else f"the first {kept}"
            lines.append(f"    and {report.invalid.count - show} more (--json lists {listed})")
    if report.taken_meanwhile:
        lines.append(
            f"  claimed by another request meanwhile (not queued again): "
            f"{report.taken_meanwhile.count}{accounts(report.taken_meanwhile)}"
        )
    if report.window_wait_seconds >= 1:
        lines.append(
            f"  waited {report.window_wait_seconds:.0f} s for the queue trigger to make room in the window (--window)"
        )
    if report.applied and report.queued:
        lines.append(
            "The function app's queue trigger creates them; follow with "
            "`python -m admin list --status queued,pending` or `status ACCOUNT_ID`."
        )
    if report.applied and report.writebacks:
        lines.append("The function app's queue trigger writes the numbers back; `status ACCOUNT_ID` shows writeBack.")
    return "\n".join(lines)


@contextmanager
def _progress_bar(enabled: bool, console: Any = None) -> Iterator[Progress | None]:
    """A rich progress bar on stderr (stdout keeps the summary clean for a pipe), shown only on a
    terminal and only once the result is large enough to take a while."""
    if not enabled:
        yield None
        return
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    console = console or Console(stderr=True)
    if not console.is_terminal:
        yield None
        return
    bar = Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        console=console,
        transient=False,
    )
    task: list[Any] = []

    def advance(done: int, total: int, waiting_for_queue: bool = False) -> None:
        if total < PROGRESS_FROM:
            return
        if not task:
            bar.start()
            task.append(bar.add_task(_WORKING, total=total))
        description = _WAITING if waiting_for_queue else _WORKING
        bar.update(task[0], completed=done, total=total, description=description)

    try:
        yield advance
    finally:
        if task:
            bar.stop()
        elif sys.stderr is not None:
            sys.stderr.flush()
