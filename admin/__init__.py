"""Operations commands for the sync: `python -m admin --help` (docs/operations.md tells when to use which).

Run them where the function app's settings are in the environment: Azure Cloud Shell with the app
settings exported, or locally with `AzureWebJobsStorage=UseDevelopmentStorage=true` for Azurite.
"""

from __future__ import annotations

from enum import IntEnum


class ExitCode(IntEnum):
    """One table for every subcommand, so a script can branch on the number alone."""

    DONE = 0  # done, or nothing to do
    NOTHING_DONE = 1  # not done or not all done: declined, no such message or account, something left over
    USAGE = 2  # bad arguments or settings (argparse uses 2 for usage errors too)
    STORAGE_UNREACHABLE = 3
    SALESFORCE_FAILED = 4  # Salesforce refused the login or did not answer
    WORK_FOUND = 5  # a dry run found work: run it again with --apply
    # preflight: the first failed area in run order gives the code (settings 2, storage 3, Salesforce 4 reused)
    RELAY_FAILED = 6
    SAP_FAILED = 7
    TELEMETRY_FAILED = 8
    INTERRUPTED = 130  # Ctrl-C (128 + SIGINT, as shells report it)


EXIT_CODES_HELP = """exit codes (every subcommand):
  0  done, or nothing to do
  1  not done or not all done (declined at the prompt; no such message or account; messages left in
     the poison queue; accounts reconcile could not queue because their data is invalid; reconcile's
     window stayed full with nothing taking the messages)
  2  bad arguments or settings (a number out of its range, a malformed AzureWebJobsStorage or
     RETRY_QUEUE_NAME): the message names the option or setting; preflight: a settings check failed
  3  storage unreachable (the ledger table or the retry queue); preflight: a storage check failed
     (also: messages parked in the poison queue)
  4  Salesforce refused the login or did not answer (reconcile); preflight: a Salesforce check failed
  5  dry run found work: `reconcile` without --apply found accounts to queue
  6  preflight: a relay check failed
  7  preflight: an SAP check failed
  8  preflight: a telemetry check failed
  130  stopped by Ctrl-C: what was already handed on finished first (reconcile: nothing claimed is left
     without its message; run it again to continue where it stopped)
  preflight exits with the code of the first failed area in the order it runs them (settings, storage,
  relay, sap, salesforce, telemetry); --json lists every failed area"""
