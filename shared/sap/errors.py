"""What can go wrong in SAP, classified by what the caller should do about it.

    SapError                      base; `detail` is safe to log and to return (never credentials)
    ├── SapTransientError         may heal by itself (network, SAP down or busy, the relay throttling):
    │   │                         queue, retry later (`retry_after_seconds`: at the earliest then)
    │   ├── SapOutcomeUnknown     the line broke after the create or its commit was sent: SAP may
    │   │                         hold the customer, so the next attempt searches before it creates
    │   └── SapNotStarted         the agent did not start the unit (it could not have answered within
    │                             the relay's limit): nothing was sent to SAP
    ├── SapPermanentError         fails the same way again (ABAP runtime error, odd answer): no retry
    ├── SapConfigurationError     logon or setup problem; never retried in a loop (logons lock users)
    │   ├── SapDriverMissing      pyrfc/pyrfcx or the SAP NW RFC SDK is not installed
    │   └── SapInterfaceMismatch  the live system lacks a function, parameter or field we send
    ├── SapBusinessRejection      SAP refused the data (RETURN type E/A): a person fixes the account
    └── SapNeedsReview            an earlier create may have reached SAP and the search cannot tell
                                  which customer (several matches, or the search failed): an operator
                                  decides; nothing is created automatically

Each class carries three class attributes, read through its MRO (a subclass without its own inherits
its parent's; nothing looks them up with an isinstance ladder):

    class                   kind             wire_kind           label
    SapError                permanent        permanent           SAP error
    SapTransientError       transient        transient           SAP unavailable
    SapOutcomeUnknown       outcome_unknown  outcome_unknown     SAP unavailable, outcome unknown
    SapNotStarted           transient        not_started         SAP unavailable
    SapPermanentError       permanent        permanent           SAP error
    SapConfigurationError   misconfigured    misconfigured       SAP configuration problem
    SapDriverMissing        misconfigured    driver_missing      SAP configuration problem
    SapInterfaceMismatch    misconfigured    interface_mismatch  SAP configuration problem
    SapBusinessRejection    rejected         rejected            SAP rejected
    SapNeedsReview          needs_review     needs_review        held for review

`kind` is what the caller does (retry, fix the configuration, fix the input, a person decides), stable
because the ledger stores it as a field (never re-parsed from text) and the status API reads it back.
`wire_kind` names the exact class on the SAP wire (shared/sap/wire.py; the agent and the app must agree,
tests/unit/test_sap_wire.py). `label` is what a person is told (shared/usecases/services.py `describe`,
`category`, `category_of_stored`).

The product's other failures fall into the same moves: transient (retry later), misconfigured (fix the
configuration), rejected (the input is wrong: a person fixes it, or the caller sends another), needs review
(a person decides: SapNeedsReview above). Each class stays beside the port or use case whose caller handles
it and carries `kind` and `label` too; this table is the one place that names them together
(tests/unit/test_error_vocabulary.py holds it to the classes):

    class                                                   kind           label
    shared.storage.port.LedgerUnavailable                   transient      ledger unreachable
    shared.storage.port.RetryQueueUnavailable               transient      retry queue unreachable
    shared.usecases.services.StorageUnavailable             transient      storage unavailable
    shared.settings_error.SettingsError                     misconfigured  configuration problem
    shared.usecases.services.SapNotReady                    misconfigured  SAP configuration problem
    shared.usecases.push.PushNotConfigured                  misconfigured  push path not configured
    shared.usecases.reconcile_pacing.QueueTriggerIdle       misconfigured  queue trigger takes no messages
    shared.core.models.InvalidRequest                       rejected       invalid request
    shared.core.salesforce_id.InvalidSalesforceId           rejected       invalid Salesforce Id
    shared.storage.port.InvalidContinuation                 rejected       invalid continuation token
    shared.core.retry_message.InvalidRetryMessage           rejected       invalid retry message
    shared.core.outbound_message.MalformedOutboundMessage   rejected       not a Salesforce outbound message
    shared.usecases.push.ForeignOrganization                rejected       message from another Salesforce organization
    shared.usecases.status.CannotResolve                    rejected       cannot resolve
    shared.salesforce.port.SalesforceError                  rejected       Salesforce error
    shared.salesforce.port.SalesforceUnavailable            transient      Salesforce unavailable
    shared.salesforce.port.SalesforceAuthenticationFailed   misconfigured  Salesforce login failed
    shared.salesforce.port.SalesforceRejected               rejected       Salesforce rejected

InvalidRequest is the one field-error type (HTTP 400 `invalid_request` naming every field and its reason).
StorageUnavailable (HTTP 503 `unavailable`) is what a use case raises when the ledger or the queue cannot
record a request; SapNotReady (HTTP 503 `configuration`) a SAP side no retry heals. Not a failure:
shared.storage.port.LedgerConflict, a lost race (ETag), after which the caller reads again and decides anew.
"""

from __future__ import annotations

from shared.sap.messages import SapMessage


class SapError(Exception):
    """Base class. `detail` is safe to log and to return (never credentials)."""

    kind = "permanent"
    wire_kind = "permanent"
    label = "SAP error"
    # True when the error struck after the create or its commit was sent: SAP may hold the customer
    # whatever the error's kind, so the next attempt (a retry, a resend from the flow) searches first.
    outcome_unknown = False

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


class SapTransientError(SapError):
    """May heal by itself (network, SAP down or busy, lost session): queue and retry later.
    `retry_after_seconds`: the other side said when to come back (a relay's 429 Retry-After)."""

    kind = "transient"
    wire_kind = "transient"
    label = "SAP unavailable"

    def __init__(self, detail: str, *, retry_after_seconds: float | None = None) -> None:
        super().__init__(detail)
        self.retry_after_seconds = retry_after_seconds


class SapOutcomeUnknown(SapTransientError):
    """The connection broke (or the call timed out or was cancelled) after BAPI_CUSTOMER_CREATEFROMDATA1
    or BAPI_TRANSACTION_COMMIT was sent: SAP may have committed the customer."""

    kind = "outcome_unknown"
    wire_kind = "outcome_unknown"
    label = "SAP unavailable, outcome unknown"
    outcome_unknown = True


class SapNotStarted(SapTransientError):
    """The on-premise agent refused to start the unit of work because it could no longer be answered
    within the relay's limit on one request (it waited too long for a free slot): no RFC call was made,
    so nothing was sent to SAP and the outcome is known: no customer. Queue and retry later."""

    wire_kind = "not_started"  # the ledger's kind stays "transient": queued like any transient error


class SapPermanentError(SapError):
    """Will fail the same way again (ABAP runtime error, unexpected answer): do not retry."""

    kind = "permanent"
    wire_kind = "permanent"
    label = "SAP error"


class SapConfigurationError(SapError):
    """Logon or setup problem (wrong user/password, locked user, missing RFC SDK). Never retried in
    a loop: repeated failed logons lock the SAP user."""

    kind = "misconfigured"
    wire_kind = "misconfigured"
    label = "SAP configuration problem"


class SapDriverMissing(SapConfigurationError):
    """pyrfc (or pyrfcx) or the SAP NW RFC SDK it needs is not installed."""

    wire_kind = "driver_missing"


class SapInterfaceMismatch(SapConfigurationError):
    """The live system's metadata lacks a function module, parameter or field that we send or read
    (another release, or a wrong assumption of ours): nothing is sent until it is fixed."""

    wire_kind = "interface_mismatch"


class SapBusinessRejection(SapError):
    """SAP refused the data (RETURN type E or A). A person must fix the account; never retried."""

    kind = "rejected"
    wire_kind = "rejected"
    label = "SAP rejected"

    def __init__(self, messages: tuple[SapMessage, ...]) -> None:
        if not messages:
            raise ValueError("a business rejection carries at least one SAP message")
        first = next((m for m in messages if m.type in ("E", "A")), messages[0])
        super().__init__(f"{first.type} {first.id} {first.number}: {first.text}")
        self.messages = messages
        self.message = first


class SapNeedsReview(SapError):
    """The duplicate guard could not decide: `candidates` are the SAP customers that may be ours."""

    kind = "needs_review"
    wire_kind = "needs_review"
    label = "held for review"

    def __init__(self, detail: str, candidates: tuple[str, ...] = ()) -> None:
        super().__init__(detail)
        self.candidates = candidates
