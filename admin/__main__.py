"""Command line of the operations commands.

    python -m admin poison list [--max N] [--json]
    python -m admin poison replay (--id MESSAGE_ID | --all) [--yes]
    python -m admin status ACCOUNT_ID [--json]
    python -m admin resolve ACCOUNT_ID (--customer NUMBER | --create) [--yes]
    python -m admin list [--status STATUS ...] [--older-than MINUTES] [--max N] [--json]
    python -m admin sweep [--dry-run]

Settings come from the environment, read by the app's own `shared.settings.load_settings`.
Exit codes: 0 done; 1 not done or not all done (declined, unknown message or account, messages left
in the poison queue after `replay --all`); 2 bad arguments or settings; 3 storage unreachable.
Storage is asked with short timeouts and one retry, so an unreachable account fails in seconds.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from collections.abc import Sequence

from azure.core.exceptions import AzureError

from admin import ExitCode, poison
from shared.core.ledger import LedgerStatus
from shared.core.salesforce_id import InvalidSalesforceId, normalize_account_id
from shared.log import configure_logging
from shared.settings import Settings, SettingsError, load_settings
from shared.storage.port import LedgerUnavailable, RetryQueueUnavailable
from shared.usecases import StorageUnavailable, account_status

_STORAGE_HINT = ("check AzureWebJobsStorage (or AzureWebJobsStorage__accountName and your Azure login) "
                 "and that this machine may reach the storage account")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m admin",
                                     description="Operations commands of the SAP customer sync.")
    commands = parser.add_subparsers(dest="command", required=True)

    poison_parser = commands.add_parser("poison", help="messages the retry queue gave up on")
    poison_commands = poison_parser.add_subparsers(dest="poison_command", required=True)
    listing = poison_commands.add_parser("list", help="show the parked messages (ids and errors only)")
    listing.add_argument("--max", type=int, default=poison.PEEK_LIMIT, metavar="N",
                         help=f"show at most N messages (1 to {poison.PEEK_LIMIT}, a Storage peek limit)")
    listing.add_argument("--json", action="store_true", help="JSON instead of a table")
    replay = poison_commands.add_parser("replay", help="move parked messages back to the retry queue")
    which = replay.add_mutually_exclusive_group(required=True)
    which.add_argument("--id", dest="message_id", metavar="MESSAGE_ID", help="replay this message only")
    which.add_argument("--all", action="store_true", help="replay every readable message")
    replay.add_argument("--yes", action="store_true", help="do not ask (required when stdin is not a terminal)")

    status = commands.add_parser("status", help="the ledger entry of one Salesforce account")
    status.add_argument("account_id", metavar="ACCOUNT_ID", help="15 or 18 character Salesforce Account Id")
    status.add_argument("--json", action="store_true", help="JSON instead of text")

    resolve = commands.add_parser("resolve", help="decide an account held for review (status needs_review)")
    resolve.add_argument("account_id", metavar="ACCOUNT_ID", help="15 or 18 character Salesforce Account Id")
    decision = resolve.add_mutually_exclusive_group(required=True)
    decision.add_argument("--customer", metavar="NUMBER",
                          help="this SAP customer is the account's (checked in SAP, e.g. XD03): record and write back")
    decision.add_argument("--create", action="store_true",
                          help="no earlier attempt created one: create it now, without searching again")
    resolve.add_argument("--yes", action="store_true", help="do not ask (required when stdin is not a terminal)")

    listing = commands.add_parser("list", help="accounts by ledger status (e.g. stuck pending, needs_review)")
    listing.add_argument("--status", action="append", choices=[status.value for status in LedgerStatus],
                         help="only this status (repeat for several; default: all)")
    listing.add_argument("--older-than", type=int, metavar="MINUTES", dest="older_than",
                         help="only entries unchanged for at least MINUTES")
    listing.add_argument("--max", type=int, default=100, metavar="N", help="at most N accounts (default 100)")
    listing.add_argument("--json", action="store_true", help="JSON instead of a table")

    sweep = commands.add_parser("sweep", help="queue a check for every abandoned claim and lost retry message")
    sweep.add_argument("--dry-run", action="store_true", help="only list what would be checked")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    if args.command == "list" and not 1 <= args.max <= 1000:
        parser.error("--max must be between 1 and 1000")
    if args.command == "poison" and args.poison_command == "list" and not 1 <= args.max <= poison.PEEK_LIMIT:
        parser.error(f"--max must be between 1 and {poison.PEEK_LIMIT}")
    try:
        settings = load_settings(sap_required=False)
        if args.command == "status":
            return _status(settings, args.account_id, args.json)
        if args.command == "list":
            from admin.listing import list_accounts

            return list_accounts(settings, args.status, args.older_than, args.max, args.json)
        if args.command == "sweep":
            from admin.listing import sweep

            return sweep(settings, args.dry_run)
        if args.command == "resolve":
            from admin.resolve import resolve

            return resolve(settings, args.account_id, args.customer, args.create, confirm=not args.yes)
        return _poison(settings, args)
    except SettingsError as error:
        _fail(f"settings: {error}")
        return ExitCode.USAGE
    except (RetryQueueUnavailable, LedgerUnavailable, StorageUnavailable) as error:
        _fail(f"storage unreachable: {error}; {_STORAGE_HINT}")
        return ExitCode.STORAGE_UNREACHABLE
    except AzureError as error:
        # Not an outage (e.g. a missing role assignment answered 403 elsewhere, or a wrong endpoint).
        first_line = (str(error).splitlines() or [""])[0]
        _fail(f"storage error: {type(error).__name__}: {first_line}")
        return ExitCode.STORAGE_UNREACHABLE


def _poison(settings: Settings, args: argparse.Namespace) -> int:
    if args.poison_command == "replay" and not args.yes and not _interactive():
        _fail("stdin is not a terminal, so nobody can confirm: add --yes to replay")
        return ExitCode.USAGE
    from shared.storage.clients import COMMAND_CLIENT_OPTIONS
    from shared.storage.queue import storage_retry_queue_from_settings

    queue = storage_retry_queue_from_settings(settings, **COMMAND_CLIENT_OPTIONS)
    if args.poison_command == "list":
        return poison.list_poison(queue, args.max, args.json)
    return poison.replay(queue, args.message_id, confirm=not args.yes)


def _status(settings: Settings, raw_account_id: str, as_json: bool) -> int:
    try:
        account_id = normalize_account_id(raw_account_id)
    except InvalidSalesforceId as error:
        _fail(f"ACCOUNT_ID: {error}")
        return ExitCode.USAGE
    from shared.storage.clients import COMMAND_CLIENT_OPTIONS
    from shared.storage.table_ledger import table_ledger_from_settings

    # Only the ledger: an operator asking for a status must not need SAP logon settings or the RFC SDK.
    entry = account_status(account_id, table_ledger_from_settings(settings, **COMMAND_CLIENT_OPTIONS))
    if entry is None:
        _fail(f"no ledger entry for account {account_id}: no create request is known for it")
        return ExitCode.NOTHING_DONE
    body = entry.to_status_json()
    if as_json:
        print(json.dumps(body, indent=2))
    else:
        width = max(len(key) for key in body)
        print("\n".join(f"{key.ljust(width)}  {'-' if value is None else value}" for key, value in body.items()))
    return ExitCode.DONE


def _interactive() -> bool:
    return sys.stdin is not None and sys.stdin.isatty()


def _fail(message: str) -> None:
    print(f"error: {message}", file=sys.stderr)


if __name__ == "__main__":
    # The command prints its own one-line errors; adapter warnings would only repeat them.
    configure_logging(logging.ERROR)
    sys.exit(main())
