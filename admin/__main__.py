"""Command line of the operations commands: one command, `python -m admin`, with subcommands.

    python -m admin status ACCOUNT_ID [--json]
    python -m admin list [--status STATUS ...] [--since TIME] [--older-than MINUTES] [--max N]
                         [--continue TOKEN] [--json]
    python -m admin poison list [--max N] [--json]
    python -m admin poison replay (--id MESSAGE_ID | --all) [--yes]
    python -m admin resolve ACCOUNT_ID (--customer NUMBER | --create) [--yes]
    python -m admin sweep [--dry-run]
    python -m admin reconcile [--apply] [--window N] [--json] [--no-progress] [--show N]
    python -m admin preflight [--json] [--only AREA[,AREA...]] [--app-url URL]

`python -m admin SUBCOMMAND --help` explains each. Settings come from the environment, read by the
app's own `shared.settings.load_settings`. The exit codes are one table for all (admin.ExitCode,
printed by --help). Storage is asked with short timeouts and one retry, so an unreachable account
fails in seconds.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import textwrap
from collections.abc import Callable, Sequence

from azure.core.exceptions import AzureError

from admin import EXIT_CODES_HELP, ExitCode, poison
from shared.core.ledger import LedgerStatus
from shared.core.listing import parse_instant, parse_statuses
from shared.core.salesforce_id import InvalidSalesforceId, normalize_account_id
from shared.log import configure_logging
from shared.salesforce.port import SalesforceError
from shared.settings import Settings, SettingsError, load_settings
from shared.storage.port import InvalidContinuation, LedgerUnavailable, RetryQueueUnavailable
from shared.usecases import StorageUnavailable, account_status
from shared.usecases.reconcile_pacing import DEFAULT_WINDOW, QueueTriggerIdle

_STORAGE_HINT = (
    "check AzureWebJobsStorage (or AzureWebJobsStorage__accountName and your Azure login) "
    "and that this machine may reach the storage account"
)
_SALESFORCE_HINT = "check SALESFORCE_AUTH, SALESFORCE_LOGIN_URL and the connected app's credentials"
_LIST_LIMIT = 10_000


def _instant(text: str) -> object:
    try:
        return parse_instant(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def _whole_number(minimum: int, maximum: int | None = None) -> Callable[[str], int]:
    """An argparse type: a whole number within the bounds, else the subcommand's own usage error
    (argparse's exit 2) naming the option and its range, never the top-level usage."""
    expected = (
        f"a whole number from {minimum} to {maximum}" if maximum is not None else f"a whole number of {minimum} or more"
    )

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"'{text[:20]}' is not {expected}") from None
        if value < minimum or (maximum is not None and value > maximum):
            raise argparse.ArgumentTypeError(f"{value} is not {expected}")
        return value

    return parse


def _statuses(text: str) -> tuple[str, ...]:
    try:
        return tuple(status.value for status in parse_statuses(text))
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def _preflight_areas(text: str) -> list[object]:
    from admin.preflight import areas_argument

    return list(areas_argument(text))


def _paragraphs(text: str) -> str:
    # Prose is wrapped; lines that start with two blanks are examples and kept as they are.
    return "\n".join(line if line.startswith("  ") else textwrap.fill(line, 100) for line in text.split("\n"))


def _subcommand(
    commands: argparse._SubParsersAction, name: str, summary: str, description: str
) -> argparse.ArgumentParser:
    return commands.add_parser(
        name,
        help=summary,
        description=_paragraphs(description),
        epilog=EXIT_CODES_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m admin",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog=EXIT_CODES_HELP,
        description=_paragraphs(
            "Operations commands of the SAP customer sync: see an account, list the ledger, "
            "repair what failed. Settings come from the environment (the function app's app "
            "settings). `python -m admin SUBCOMMAND --help` explains each."
        ),
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="SUBCOMMAND")

    status = _subcommand(
        commands,
        "status",
        "the ledger entry of one Salesforce account",
        "Show what the sync knows of one account: status, SAP customer number, attempts, "
        "last error, write-back. Reads the ledger only (no SAP, no Salesforce).",
    )
    status.add_argument("account_id", metavar="ACCOUNT_ID", help="15 or 18 character Salesforce Account Id")
    status.add_argument("--json", action="store_true", help="JSON instead of text")

    listing = _subcommand(
        commands,
        "list",
        "accounts by ledger status and time (the sync log)",
        "List ledger entries in account-id order, the same as GET /api/customers. Examples:\n"
        "  list --status pending --older-than 10   claims older than ten minutes (a dead worker's?)\n"
        "  list --status needs_review              accounts an operator must resolve\n"
        "  list --since 2026-05-01T00:00:00Z       everything changed since then",
    )
    listing.add_argument(
        "--status",
        action="append",
        type=_statuses,
        metavar="STATUS",
        help=f"only this status ({', '.join(status.value for status in LedgerStatus)}); "
        "several separated by commas or the option repeated; default: all",
    )
    listing.add_argument(
        "--since",
        type=_instant,
        metavar="TIME",
        help="only entries changed at or after TIME (ISO 8601 with offset, or a date: midnight UTC)",
    )
    listing.add_argument(
        "--older-than",
        type=_whole_number(0),
        metavar="MINUTES",
        dest="older_than",
        help="only entries unchanged for at least MINUTES",
    )
    listing.add_argument(
        "--max",
        type=_whole_number(1, _LIST_LIMIT),
        default=100,
        metavar="N",
        help=f"at most N accounts (1 to {_LIST_LIMIT}, default 100); more are announced with a token for --continue",
    )
    listing.add_argument(
        "--continue",
        dest="continuation",
        metavar="TOKEN",
        help="go on where an earlier list stopped (the token it printed)",
    )
    listing.add_argument("--json", action="store_true", help="JSON instead of a table")

    poison_parser = _subcommand(
        commands,
        "poison",
        "messages the retry queue gave up on",
        "See and replay what the retry queue parked in <queue>-poison.",
    )
    poison_commands = poison_parser.add_subparsers(dest="poison_command", required=True, metavar="ACTION")
    peek = _subcommand(
        poison_commands,
        "list",
        "show the parked messages (ids and errors only)",
        "Show the parked messages without taking them: ids, accounts, attempts, errors; never "
        "the request's personal data.",
    )
    peek.add_argument(
        "--max",
        type=_whole_number(1, poison.PEEK_LIMIT),
        default=poison.PEEK_LIMIT,
        metavar="N",
        help=f"show at most N messages (1 to {poison.PEEK_LIMIT}, a Storage peek limit)",
    )
    peek.add_argument("--json", action="store_true", help="JSON instead of a table")
    replay = _subcommand(
        poison_commands,
        "replay",
        "move parked messages back to the retry queue",
        "Move parked messages back to the retry queue with their attempts reset; the queue "
        "trigger then tries them again (the ledger keeps them exactly-once).",
    )
    which = replay.add_mutually_exclusive_group(required=True)
    which.add_argument("--id", dest="message_id", metavar="MESSAGE_ID", help="replay this message only")
    which.add_argument("--all", action="store_true", help="replay every readable message")
    replay.add_argument("--yes", action="store_true", help="do not ask (required when stdin is not a terminal)")

    resolve = _subcommand(
        commands,
        "resolve",
        "decide an account held for review (status needs_review)",
        "The duplicate guard holds an account when an earlier attempt may have created its SAP "
        "customer and it cannot tell which. Check in SAP (XD03; the candidates are in lastError), "
        "then name the customer that is the account's, or say none is.",
    )
    resolve.add_argument("account_id", metavar="ACCOUNT_ID", help="15 or 18 character Salesforce Account Id")
    decision = resolve.add_mutually_exclusive_group(required=True)
    decision.add_argument(
        "--customer",
        metavar="NUMBER",
        help="this SAP customer is the account's (checked in SAP, e.g. XD03): record and write back",
    )
    decision.add_argument(
        "--create", action="store_true", help="no earlier attempt created one: create it now, without searching again"
    )
    resolve.add_argument("--yes", action="store_true", help="do not ask (required when stdin is not a terminal)")

    sweep = _subcommand(
        commands,
        "sweep",
        "queue a check for every abandoned claim and lost retry message",
        "What the SweepAbandonedClaims timer does every 5 minutes, now: stale pending claims and "
        "overdue queued entries get a check message that finishes them.",
    )
    sweep.add_argument("--dry-run", action="store_true", help="only list what would be checked")

    reconcile = _subcommand(
        commands,
        "reconcile",
        "queue Salesforce customers without an SAP number that the sync never saw",
        "Query Salesforce (SOQL, every result page) for accounts of Type Customer without an SAP customer "
        "number, and queue a create for each one the ledger does not know (the function app's queue trigger "
        "creates it). Dry run by default: nothing is written until --apply.\n"
        "Exactly once: an account the ledger knows (created, pending, queued, needs_review, failed) is never "
        "queued; queueing claims the account in the ledger first, so a second run, or the flow sending it "
        "meanwhile, does not queue it again.",
    )
    reconcile.add_argument("--apply", action="store_true", help="queue the creates (default: only report them)")
    reconcile.add_argument(
        "--window",
        type=_whole_number(0),
        default=DEFAULT_WINDOW,
        metavar="N",
        help=f"with --apply, keep at most N messages in the retry queue, which the live creates share: wait for "
        f"the queue trigger to take them before queueing more (default {DEFAULT_WINDOW}; 0: no bound). "
        "Ctrl-C stops a load; a later run continues where it stopped",
    )
    reconcile.add_argument("--json", action="store_true", help="the summary as JSON (no progress bar)")
    reconcile.add_argument("--no-progress", action="store_true", help="no progress bar")
    reconcile.add_argument(
        "--show",
        type=_whole_number(0),
        default=10,
        metavar="N",
        help="list at most N account ids per group in the summary (default 10)",
    )
    checks = _subcommand(
        commands,
        "preflight",
        "the go-live check: settings, storage, relay, SAP, Salesforce, telemetry",
        "Check a deployment against the real systems before going live and after every SAP or org change: "
        "each check prints what it found and, when it failed, the fix. Read-only: it logs on to SAP once and "
        "writes nothing to storage, SAP or Salesforce. The settings come first; when they cannot be loaded "
        'nothing else runs. docs/operations.md, "Go-live check", explains every check.',
    )
    checks.add_argument("--json", action="store_true", help="JSON for a pipeline: passed, failedAreas, checks")
    checks.add_argument(
        "--only",
        action="append",
        type=_preflight_areas,
        metavar="AREA",
        help="only these areas (settings, storage, relay, sap, salesforce, telemetry); several "
        "separated by commas or the option repeated; default: all",
    )
    checks.add_argument(
        "--app-url",
        metavar="URL",
        dest="app_url",
        help="this function app's base URL (https://APP.azurewebsites.net): the push path's "
        "outbound message must point at it (no setting holds it)",
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    if args.command == "preflight":
        # Before the command's own settings: the check loads the app's settings itself and reports what fails.
        from admin.preflight import preflight

        return preflight({area for group in args.only or () for area in group}, args.json, app_url=args.app_url)
    try:
        settings = load_settings(sap_required=False)
        if args.command == "status":
            return _status(settings, args.account_id, args.json)
        if args.command == "list":
            from admin.listing import list_accounts

            statuses = sorted({status for group in args.status for status in group}) if args.status else None
            return list_accounts(
                settings,
                statuses,
                args.older_than,
                args.max,
                args.json,
                since=args.since,
                continuation=args.continuation,
            )
        if args.command == "sweep":
            from admin.listing import sweep

            return sweep(settings, args.dry_run)
        if args.command == "resolve":
            from admin.resolve import resolve

            return resolve(settings, args.account_id, args.customer, args.create, confirm=not args.yes)
        if args.command == "reconcile":
            from admin.reconcile import reconcile

            return reconcile(
                settings,
                apply=args.apply,
                as_json=args.json,
                progress=not (args.no_progress or args.json),
                show=args.show,
                window=args.window,
            )
        return _poison(settings, args)
    except SettingsError as error:
        _fail(f"settings: {error}")
        return ExitCode.USAGE
    except InvalidContinuation as error:
        _fail(f"--continue: {error}")
        return ExitCode.USAGE
    except (RetryQueueUnavailable, LedgerUnavailable, StorageUnavailable) as error:
        _fail(f"storage unreachable: {error}; {_STORAGE_HINT}")
        return ExitCode.STORAGE_UNREACHABLE
    except QueueTriggerIdle as error:
        _fail(f"reconcile stopped: {error} (or pass --window 0 to queue everything at once)")
        return ExitCode.NOTHING_DONE
    except SalesforceError as error:
        _fail(f"Salesforce: {error}; {_SALESFORCE_HINT}")
        return ExitCode.SALESFORCE_FAILED
    except KeyboardInterrupt:
        # The reconcile's pool finishes the accounts it started (claim and message together) before this.
        _fail("stopped (Ctrl-C); what was handed on finished first: run it again to continue where it stopped")
        return ExitCode.INTERRUPTED
    except AzureError as error:
        # Not an outage (e.g. a missing role assignment answered 403 elsewhere, or a wrong endpoint).
        first_line = (str(error).splitlines() or [""])[0]
        _fail(f"storage error: {type(error).__name__}: {first_line}")
        return ExitCode.STORAGE_UNREACHABLE


def _poison(settings: Settings, args: argparse.Namespace) -> int:
    if args.poison_command == "replay" and not args.yes and not _interactive():
        _fail("stdin is not a terminal, so nobody can confirm: add --yes to replay")
        return ExitCode.USAGE
    from shared.bootstrap import EntryPoint, bootstrap

    # Only the queue: no Salesforce client is made (writeback=None); nothing connects before the first call.
    queue = bootstrap(EntryPoint.OPERATIONS, settings, writeback=None).retry_queue
    if args.poison_command == "list":
        return poison.list_poison(queue, args.max, args.json)
    return poison.replay(queue, args.message_id, confirm=not args.yes)


def _status(settings: Settings, raw_account_id: str, as_json: bool) -> int:
    try:
        account_id = normalize_account_id(raw_account_id)
    except InvalidSalesforceId as error:
        _fail(f"ACCOUNT_ID: {error}")
        return ExitCode.USAGE
    from shared.bootstrap import EntryPoint, bootstrap

    # Only the ledger: an operator asking for a status must not need SAP logon settings or the RFC SDK (the
    # operations command's services hold no SAP gateway), nor Salesforce (writeback=None).
    entry = account_status(account_id, bootstrap(EntryPoint.OPERATIONS, settings, writeback=None).ledger)
    if entry is None:
        _fail(f"no ledger entry for account {account_id}: no create request is known for it")
        return ExitCode.NOTHING_DONE
    body = entry.to_status_json()
    if entry.change_review:
        # A change held for review (issue 26, SAP_CHANGE_CONFLICT=review): both values, for the operator only
        # (personal data: not in the status API, never logged).
        body["changeReview"] = entry.change_review
    if as_json:
        print(json.dumps(body, indent=2))
    else:
        width = max(len(key) for key in body)
        print("\n".join(f"{key.ljust(width)}  {_status_text(value)}" for key, value in body.items()))
    return ExitCode.DONE


def _status_text(value: object) -> str:
    """One status value on one line: lists (the warnings) as their messages joined by "; ", "-" for none; a
    change held for review as each field with SAP's value and Salesforce's."""
    if value is None or value == []:
        return "-"
    if isinstance(value, dict) and isinstance(value.get("fields"), list):
        return "; ".join(
            f"{item.get('field')}: SAP has {item.get('sap')!r}, Salesforce has {item.get('salesforce')!r}"
            for item in value["fields"]
            if isinstance(item, dict)
        )
    if isinstance(value, list):
        return "; ".join(str(item.get("message", item)) if isinstance(item, dict) else str(item) for item in value)
    return str(value)


def _interactive() -> bool:
    return sys.stdin is not None and sys.stdin.isatty()


def _fail(message: str) -> None:
    print(f"error: {message}", file=sys.stderr)


if __name__ == "__main__":
    # The command prints its own one-line errors; adapter warnings would only repeat them.
    configure_logging(logging.ERROR)
    sys.exit(main())
