"""OData V2 on the wire for the S/4 double: resource paths and key predicates, $filter, values, JSON
entities and SAP's error body.

Sources: OData V2 URI conventions and JSON format (odata.org, "URI Conventions (OData Version 2.0)" and
"JSON Format (OData Version 2.0)": `{"d": {...}}` for an entity, `{"d": {"results": [...]}}` for a
collection, `__metadata` with uri/type/etag, `__deferred` navigations, `/Date(ms)/` dates, and the error
`{"error": {"code", "message": {"lang", "value"}, "innererror"}}`); what SAP puts in innererror (SAP Help,
SAP Gateway Foundation, "Error Response", help.sap.com .../95/fd2651c294256ee10000000a445394: a
transactionid and errordetails, each with code, message, propertyref `<EntityType>/<Property>` and severity
error, warning or info; the page shows the XML form, the JSON form carries the same names). The
application block and `target` in each detail are as SAP's JSON errors are commonly quoted; unverified.

Error codes: where a source gives SAP's code it is used (428: SADL_ENTITY_RUNTIME/004); every other code
starts with `S4SIM/` and is the double's own, so that nothing mistakes it for a verified SAP message. A
client must act on the status, never on the code.
"""

from __future__ import annotations

import json
import re
import secrets
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote, unquote

from shared.core.business_partner_facts import ENTITY_SETS, SCHEMA_NAMESPACE, EntitySetFact

# Key fields with SAP's ALPHA conversion exit (domains BU_PARTNER and KUNNR): a numeric value is kept
# padded to 10 digits and shown without the zeros. The double converts on the way in and out, so
# '1000' and '0000001000' name the same customer; that SAP Gateway applies the exit to keys and bodies of
# this service is an assumption (unverified); the published sample data shows unpadded numbers
# (cap-js/incidents-app xmpls/remote-service/srv/external/data/API_BUSINESS_PARTNER-A_BusinessPartner.csv).
ALPHA_FIELDS = frozenset({"BusinessPartner", "Customer"})
DATE_PATTERN = re.compile(r"^/Date\((-?\d+)([+-]\d{4})?\)/$")


def to_internal(name: str, value: Any) -> Any:
    if name in ALPHA_FIELDS and isinstance(value, str) and value.strip().isdigit():
        return value.strip().zfill(10)
    return value


def to_external(name: str, value: Any) -> Any:
    if name in ALPHA_FIELDS and isinstance(value, str) and value.isdigit():
        return value.lstrip("0") or "0"
    return value


@dataclass
class ODataError(Exception):
    """An answer in SAP's error shape."""

    status: int
    code: str
    message: str
    details: list[tuple[str, str, str]] = field(default_factory=list)  # (code, message, propertyref)
    headers: dict[str, str] = field(default_factory=dict)

    def body(self) -> bytes:
        details = self.details or [(self.code, self.message, "")]
        return json.dumps(
            {
                "error": {
                    "code": self.code,
                    "message": {"lang": "en", "value": self.message},
                    "innererror": {
                        "application": {
                            "component_id": "",
                            "service_namespace": "/SAP/",
                            "service_id": "API_BUSINESS_PARTNER",
                            "service_version": "0001",
                        },
                        "transactionid": secrets.token_hex(16).upper(),
                        "timestamp": time.strftime("%Y%m%d%H%M%S", time.gmtime()) + ".0000000",
                        "errordetails": [
                            {"code": code, "message": text, "propertyref": ref, "severity": "error", "target": ref}
                            for code, text, ref in details
                        ],
                    },
                }
            }
        ).encode()


def bad_request(code: str, message: str, details: list[tuple[str, str, str]] | None = None) -> ODataError:
    return ODataError(400, f"S4SIM/{code}", message, details or [])


def not_found(what: str) -> ODataError:
    return ODataError(404, "S4SIM/NOT_FOUND", f"Resource not found for segment '{what}'")


@dataclass(frozen=True)
class ResourcePath:
    """`A_BusinessPartner`, `A_BusinessPartner('1000000')`, `.../to_BusinessPartnerAddress`."""

    entity_set: EntitySetFact
    key: tuple[str, ...] | None = None  # internal form, in the facts' key order
    navigation: str | None = None


_SEGMENT = re.compile(r"^(\w+)(?:\((.*)\))?$")


def parse_path(path: str) -> ResourcePath:
    # Split first, then decode each segment: a client may percent-encode the parentheses and quotes (pyodata
    # does), and a key may hold an encoded slash.
    segments = [unquote(segment) for segment in path.split("/") if segment]
    if not segments or len(segments) > 2:
        raise not_found(path or "/")
    match = _SEGMENT.match(segments[0])
    if match is None or match.group(1) not in ENTITY_SETS:
        raise not_found(segments[0])
    entity_set = ENTITY_SETS[match.group(1)]
    key = None if match.group(2) is None else parse_key(entity_set, match.group(2))
    navigation = None
    if len(segments) == 2:
        if key is None or segments[1] not in {nav.name for nav in entity_set.navigations}:
            raise not_found(segments[1])
        navigation = segments[1]
    return ResourcePath(entity_set, key, navigation)


def _literals(text: str) -> list[tuple[str | None, str]]:
    """`'a'` or `K1='a',K2='b'` as [(name or None, value)]; quotes doubled inside a literal."""
    found: list[tuple[str | None, str]] = []
    position = 0
    while position < len(text):
        name = None
        equals = text.find("=", position)
        quote_at = text.find("'", position)
        if equals != -1 and (quote_at == -1 or equals < quote_at):
            name = text[position:equals].strip()
            position = equals + 1
        if position >= len(text) or text[position] != "'":
            raise bad_request("KEY", f"Key predicate ({text}) is not a list of quoted string literals")
        value, position = _quoted(text, position)
        found.append((name, value))
        if position < len(text):
            if text[position] != ",":
                raise bad_request("KEY", f"Key predicate ({text}) is malformed")
            position += 1
    return found


def _quoted(text: str, start: int) -> tuple[str, int]:
    """The literal starting at the quote `start`, and the position after its closing quote."""
    value, position = [], start + 1
    while position < len(text):
        if text[position] == "'":
            if position + 1 < len(text) and text[position + 1] == "'":
                value.append("'")
                position += 2
                continue
            return "".join(value), position + 1
        value.append(text[position])
        position += 1
    raise bad_request("LITERAL", f"Unterminated string literal in '{text}'")


def parse_key(entity_set: EntitySetFact, text: str) -> tuple[str, ...]:
    literals = _literals(text)
    if len(entity_set.keys) == 1 and len(literals) == 1 and literals[0][0] in (None, entity_set.keys[0]):
        return (to_internal(entity_set.keys[0], literals[0][1]),)
    named = {name: value for name, value in literals if name is not None}
    if len(named) != len(literals) or set(named) != set(entity_set.keys):
        raise bad_request(
            "KEY", f"Key predicate ({text}) does not name the keys of {entity_set.name}: {', '.join(entity_set.keys)}"
        )
    return tuple(to_internal(name, named[name]) for name in entity_set.keys)


def key_predicate(entity_set: EntitySetFact, key: Iterable[str]) -> str:
    values = [
        str(to_external(name, value)).replace("'", "''") for name, value in zip(entity_set.keys, key, strict=True)
    ]
    if len(values) == 1:
        return f"('{quote(values[0], safe='')}')"
    inner = ",".join(f"{name}='{quote(value, safe='')}'" for name, value in zip(entity_set.keys, values, strict=True))
    return f"({inner})"


def parse_filter(entity_set: EntitySetFact, text: str) -> list[tuple[str, Any]]:
    """`P eq 'v' [and Q eq 'w' ...]` (what the product sends) as [(property, internal value)]; any other
    expression is refused (the double implements no more of $filter; SAP implements much more)."""
    conditions: list[tuple[str, Any]] = []
    rest = text.strip()
    while rest:
        match = re.match(r"^(\w+)\s+eq\s+", rest)
        if match is None:
            raise bad_request(
                "FILTER", f"$filter '{text}': the double understands only Property eq 'literal' [and ...]"
            )
        name = match.group(1)
        if not entity_set.has_property(name):
            raise bad_request("FILTER", f"$filter '{text}': property {name} does not exist in {entity_set.entity_type}")
        if not entity_set.property(name).filterable:
            raise bad_request("FILTER", f"$filter '{text}': property {name} is not filterable")
        rest = rest[match.end() :]
        if rest.startswith("'"):
            value, position = _quoted(rest, 0)
            rest = rest[position:]
            conditions.append((name, to_internal(name, value)))
        elif (word := re.match(r"^(true|false)\b", rest)) is not None:
            conditions.append((name, word.group(1) == "true"))
            rest = rest[word.end() :]
        else:
            raise bad_request("FILTER", f"$filter '{text}': a string literal or true/false must follow eq")
        rest = rest.strip()
        if rest:
            joined = re.match(r"^and\s+", rest)
            if joined is None:
                raise bad_request("FILTER", f"$filter '{text}': conditions are joined with 'and' only")
            rest = rest[joined.end() :]
    return conditions


def default_value(edm_type: str) -> Any:
    return {"Edm.String": "", "Edm.Boolean": False}.get(edm_type)


def entity_json(
    base: str,
    entity_set: EntitySetFact,
    key: tuple[str, ...],
    record: Mapping[str, Any],
    etag: str,
    *,
    select: set[str] | None = None,
    expanded: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """One entity in V2 JSON: __metadata, every property (or the selected ones), navigations deferred
    unless expanded (their JSON given in `expanded`)."""
    uri = f"{base}/{entity_set.name}{key_predicate(entity_set, key)}"
    data: dict[str, Any] = {
        "__metadata": {"id": uri, "uri": uri, "type": f"{SCHEMA_NAMESPACE}.{entity_set.entity_type}", "etag": etag}
    }
    for fact in entity_set.properties:
        if select is None or fact.name in select:
            data[fact.name] = to_external(fact.name, record.get(fact.name, default_value(fact.edm_type)))
    for navigation in entity_set.navigations:
        if expanded is not None and navigation.name in expanded:
            data[navigation.name] = expanded[navigation.name]
        elif select is None or navigation.name in select:
            data[navigation.name] = {"__deferred": {"uri": f"{uri}/{navigation.name}"}}
    return data
