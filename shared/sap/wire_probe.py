"""The go-live probes on the wire (issue 24): versioned JSON between the app (shared/sap/relay_probe.py) and the
on-premise agent (agent/api.py `POST /v1/probe`, `GET /v1/about`), in the envelope of shared/sap/wire.py.

    {"version": 1, "type": "probe", "probe": "system_info"}
    {"version": 1, "type": "probe", "probe": "customer", "customer": "0000001000"}
    {"version": 1, "type": "probe", "probe": "find", "criteria": [{"field": "NAME1", "value": "..."}], "maxRows": 2}
    -> {"version": 1, "type": "system_info", "systemId": "...", "release": "...", "databaseSystem": "...", "note": "",
        "findNoMatchMessages": [["F2", "173"]], "probes": true}  (the agent's SAP_FIND_NO_MATCH_MESSAGE, which its
        guard reads; probes false: its gateway has no probes, e.g. SAP_TRANSPORT=odata, and note says why)
    -> {"version": 1, "type": "customer", "number": "...", "exists": true, "name": "...", "country": "DE",
        "salesAreas": ["1000/10/00"], "messages": [...], "salesAreaMessages": [...]}
    -> {"version": 1, "type": "find", "return": {message} | null, "rows": [{"customer": "...", "message": ... | null}]}
    -> or the wire error of shared/sap/wire.py (the probe's SapError, same class and detail)
    GET /v1/about -> {"version": 1, "type": "about", "wireVersion": 1, "operations": ["/v1/create", ...],
                      "proofChecked": true}  (false: the agent runs with AGENT_PROOF=off, local tests only)

Narrow on purpose, never a generic RFC proxy: a FIND probe searches KNA1 by NAME1 and LAND1 only (the
fields the go-live probes need), at most MAX_PROBE_ROWS rows; a customer probe reads one customer. Anything
else is refused (WireFormatError: the agent answers 400), never guessed.
"""

from __future__ import annotations

import json
from typing import Any

from shared.core.organization import SalesArea
from shared.core.preflight_relay import AgentAbout
from shared.sap import wire
from shared.sap.inspector import CustomerProbe, FindAnswer, FindCriterion, FindResultRow, SapSystemInfo
from shared.sap.port import SapMessage
from shared.sap.wire import WIRE_VERSION, WireFormatError

PROBE_WIRE_VERSION = WIRE_VERSION
# Every operation this app calls on the agent (the go-live check asks the agent's /v1/about for them).
AGENT_OPERATIONS = ("/v1/create", "/v1/interface", "/v1/ping", "/v1/about", "/v1/probe", "/v1/change", "/v1/read")
PROBES = ("system_info", "customer", "find")
FIND_FIELDS = ("NAME1", "LAND1")  # KNA1 fields a FIND probe may search by
MAX_PROBE_ROWS = 100


def _envelope(kind: str, **fields: Any) -> str:
    return json.dumps({"version": WIRE_VERSION, "type": kind, **fields})


def _open(text: str | bytes, expected: tuple[str, ...]) -> dict[str, Any]:
    try:
        data = json.loads(text)
    except ValueError as error:
        raise WireFormatError(f"not JSON: {error}") from None
    if not isinstance(data, dict) or data.get("version") != WIRE_VERSION:
        raise WireFormatError(f"not a version {WIRE_VERSION} SAP wire message")
    if data.get("type") not in expected:
        raise WireFormatError(f"expected {' or '.join(expected)}, got {data.get('type')!r}")
    if data["type"] == "error":
        raise wire.error_from_wire(data)
    return data


def _message_json(message: SapMessage | None) -> dict[str, str] | None:
    return None if message is None else message.to_json()


def _message(data: Any) -> SapMessage | None:
    if data is None:
        return None
    if not isinstance(data, dict):
        raise WireFormatError("an SAP message is an object")
    return SapMessage(
        type=str(data.get("type", "")),
        id=str(data.get("id", "")),
        number=str(data.get("number", "")),
        text=str(data.get("text", "")),
    )


# --------------------------------------------------------------------------- the probe command


def encode_probe(probe: str, **arguments: Any) -> str:
    if probe not in PROBES:
        raise ValueError(f"unknown probe {probe!r}")
    return _envelope("probe", probe=probe, **arguments)


def encode_find_probe(criteria: list[FindCriterion], max_rows: int) -> str:
    return encode_probe(
        "find", criteria=[{"field": c.field_name, "value": c.value} for c in criteria], maxRows=max_rows
    )


def decode_probe(text: str | bytes) -> tuple[str, dict[str, Any]]:
    """(probe, its arguments), checked: the agent runs nothing it did not check here."""
    data = _open(text, ("probe",))
    probe = data.get("probe")
    if probe == "system_info":
        return probe, {}
    if probe == "customer":
        number = data.get("customer")
        if not isinstance(number, str) or not number.strip() or len(number.strip()) > 10:
            raise WireFormatError("a customer probe names one customer number (up to 10 characters)")
        return probe, {"number": number.strip()}
    if probe == "find":
        rows, max_rows = data.get("criteria"), data.get("maxRows")
        if not isinstance(rows, list) or not 1 <= len(rows) <= len(FIND_FIELDS):
            raise WireFormatError(f"a find probe has 1 to {len(FIND_FIELDS)} criteria")
        criteria = []
        for row in rows:
            if (
                not isinstance(row, dict)
                or row.get("field") not in FIND_FIELDS
                or not isinstance(row.get("value"), str)
            ):
                raise WireFormatError(f"a find criterion is a KNA1 field of {', '.join(FIND_FIELDS)} and a text")
            criteria.append(FindCriterion(row["field"], row["value"][:132]))  # BAPIKNA110-FIELDVALUE: 132
        if not isinstance(max_rows, int) or isinstance(max_rows, bool) or not 1 <= max_rows <= MAX_PROBE_ROWS:
            raise WireFormatError(f"maxRows is 1 to {MAX_PROBE_ROWS}")
        return probe, {"criteria": criteria, "max_rows": max_rows}
    raise WireFormatError(f"unknown probe {probe!r}; this agent serves {', '.join(PROBES)}")


# --------------------------------------------------------------------------- the answers


def encode_system_info(info: SapSystemInfo) -> str:
    configured = None if info.find_no_match_messages is None else [list(pair) for pair in info.find_no_match_messages]
    return _envelope(
        "system_info",
        systemId=info.system_id,
        release=info.release,
        databaseSystem=info.database_system,
        note=info.note,
        findNoMatchMessages=configured,
        probes=info.probes,
    )


def decode_system_info(text: str | bytes) -> SapSystemInfo:
    data = _open(text, ("system_info", "error"))
    configured = data.get("findNoMatchMessages")
    try:
        messages = None if configured is None else tuple((str(c), str(n)) for c, n in configured)
    except (TypeError, ValueError):
        raise WireFormatError("findNoMatchMessages is a list of [class, number] pairs") from None
    return SapSystemInfo(
        str(data.get("systemId", "")),
        str(data.get("release", "")),
        str(data.get("databaseSystem", "")),
        str(data.get("note", "")),
        messages,
        data.get("probes", True) is not False,
    )


def encode_customer(probe: CustomerProbe) -> str:
    return _envelope(
        "customer",
        number=probe.number,
        exists=probe.exists,
        name=probe.name,
        country=probe.country,
        salesAreas=[str(area) for area in probe.sales_areas],
        messages=[m.to_json() for m in probe.messages],
        salesAreaMessages=[m.to_json() for m in probe.sales_area_messages],
    )


def decode_customer(text: str | bytes) -> CustomerProbe:
    data = _open(text, ("customer", "error"))
    try:
        return CustomerProbe(
            number=str(data["number"]),
            exists=bool(data["exists"]),
            name=str(data.get("name", "")),
            country=str(data.get("country", "")),
            sales_areas=tuple(SalesArea.parse(str(area), "salesAreas") for area in data.get("salesAreas", [])),
            messages=tuple(m for m in map(_message, data.get("messages", [])) if m is not None),
            sales_area_messages=tuple(m for m in map(_message, data.get("salesAreaMessages", [])) if m is not None),
        )
    except (KeyError, TypeError, ValueError) as error:
        raise WireFormatError(f"malformed customer probe answer: {error}") from None


def encode_find(answer: FindAnswer) -> str:
    return _envelope(
        "find",
        **{
            "return": _message_json(answer.returned),
            "rows": [{"customer": r.customer, "message": _message_json(r.message)} for r in answer.rows],
        },
    )


def decode_find(text: str | bytes) -> FindAnswer:
    data = _open(text, ("find", "error"))
    try:
        rows = tuple(FindResultRow(str(row["customer"]), _message(row.get("message"))) for row in data["rows"])
        return FindAnswer(_message(data.get("return")), rows)
    except (KeyError, TypeError) as error:
        raise WireFormatError(f"malformed find probe answer: {error}") from None


def encode_about(operations: tuple[str, ...], proof_checked: bool) -> str:
    return _envelope("about", wireVersion=WIRE_VERSION, operations=list(operations), proofChecked=proof_checked)


def decode_about(text: str | bytes) -> AgentAbout:
    data = _open(text, ("about",))
    version, operations, checked = data.get("wireVersion"), data.get("operations"), data.get("proofChecked")
    if not isinstance(version, int) or not isinstance(operations, list) or not isinstance(checked, bool):
        raise WireFormatError("an about answer has wireVersion, operations and proofChecked")
    return AgentAbout(version, tuple(str(op) for op in operations), checked)
