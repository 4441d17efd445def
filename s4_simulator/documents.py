"""What the S/4 double accepts in a request body: every property and navigation checked against the facts.

A body is refused whole (400, SAP's error shape, one errordetail per problem with its propertyref
`<EntityType>/<Property>`) when it
* names a property the entity type does not have (the double knows only the facts' properties: a
  property the real service has but the facts do not list is refused too, so the product can send only
  what the facts, and so the referee, vouch for);
* gives a value of the wrong JSON type for its Edm type, or a date not in V2 JSON's `/Date(ms)/` form;
* gives a string longer than its MaxLength, counted as a Unicode SAP system counts CHAR (UTF-16 code
  units: shared/core/sap_lengths.py, the RFC path's rule). Whether SAP Gateway refuses an over-long value
  or the application cuts it is not published; refusing is the closed side, and the product shortens
  before it sends (issue 25: "never sent long");
* sets a property marked sap:creatable="false" (on create) or sap:updatable="false" (on update): SAP may
  ignore such a value instead (unverified), the double refuses it so the product never relies on it;
* nests through a navigation whose deep insert the facts do not allow (to_Customer: Insertable false in
  the newer published metadata), or nests in an update (deep update is not offered).
Values of sap:display-format="UpperCase" properties are stored upper-cased (SAP's domains without the
lowercase flag convert input to upper case; BusinessPartnerIDByExtSystem among them, issue 25).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from s4_simulator.odata import DATE_PATTERN, bad_request, to_internal
from shared.core.business_partner_facts import ENTITY_SETS, EntitySetFact, PropertyFact
from shared.core.sap_lengths import utf16_units


@dataclass
class Document:
    """A checked body: its properties (internal form) and, per navigation, its nested documents."""

    entity_set: EntitySetFact
    properties: dict[str, Any]
    nested: dict[str, list[Document]] = field(default_factory=dict)


Problem = tuple[str, str, str]  # (code, message, propertyref)


def _value_problem(entity_set: EntitySetFact, fact: PropertyFact, value: Any) -> Problem | None:
    where = f"{entity_set.entity_type}/{fact.name}"
    if value is None:
        return None if fact.nullable else ("NOT_NULLABLE", f"Property {fact.name} must not be null", where)
    if fact.edm_type == "Edm.Boolean":
        ok = isinstance(value, bool)
    elif fact.edm_type in ("Edm.DateTime", "Edm.DateTimeOffset"):
        ok = isinstance(value, str) and DATE_PATTERN.match(value) is not None
    else:
        ok = isinstance(value, str)
    if not ok:
        return ("INVALID_VALUE", f"Property {fact.name} has an invalid value for {fact.edm_type}: {value!r}", where)
    if fact.edm_type == "Edm.String" and fact.max_length is not None and utf16_units(value) > fact.max_length:
        return (
            "MAX_LENGTH",
            f"Value of property {fact.name} is longer than its maximum length {fact.max_length} "
            f"({utf16_units(value)} characters)",
            where,
        )
    return None


def _normalised(fact: PropertyFact, value: Any) -> Any:
    if value is None and fact.edm_type == "Edm.String":
        return ""
    if isinstance(value, str) and fact.upper_case:
        value = value.upper()
    return to_internal(fact.name, value)


def _nested_list(value: Any, to_many: bool) -> list[Any] | None:
    if to_many:
        if isinstance(value, dict) and set(value) == {"results"} and isinstance(value["results"], list):
            return value["results"]
        return value if isinstance(value, list) else None
    return [value] if isinstance(value, dict) else None


def _check(entity_set: EntitySetFact, body: Any, problems: list[Problem], *, creating: bool, path: str) -> Document:
    document = Document(entity_set, {})
    if not isinstance(body, dict):
        problems.append(("MALFORMED", f"{path}: the body of {entity_set.name} is not a JSON object", ""))
        return document
    navigations = {navigation.name: navigation for navigation in entity_set.navigations}
    for name, value in body.items():
        if name == "__metadata":
            continue
        where = f"{entity_set.entity_type}/{name}"
        if name in navigations:
            navigation = navigations[name]
            if not creating:
                problems.append(("DEEP_UPDATE", f"Navigation property {name} cannot be changed with an update", where))
            elif not navigation.deep_insert:
                problems.append(("DEEP_INSERT", f"Navigation property {name} does not support deep insert", where))
            elif (items := _nested_list(value, navigation.to_many)) is None:
                problems.append(("MALFORMED", f"Navigation property {name} holds no inline entries", where))
            else:
                target = ENTITY_SETS[navigation.target]
                document.nested[name] = [
                    _check(target, item, problems, creating=True, path=f"{path}/{name}") for item in items
                ]
            continue
        if not entity_set.has_property(name):
            problems.append(("UNKNOWN_PROPERTY", f"Property {name} does not exist in {entity_set.entity_type}", where))
            continue
        fact = entity_set.property(name)
        if creating and not fact.creatable:
            problems.append(("NOT_CREATABLE", f"Property {name} cannot be set on create (sap:creatable=false)", where))
            continue
        if not creating and not fact.updatable and name not in entity_set.keys:
            problems.append(("NOT_UPDATABLE", f"Property {name} cannot be changed (sap:updatable=false)", where))
            continue
        problem = _value_problem(entity_set, fact, value)
        if problem is not None:
            problems.append(problem)
            continue
        document.properties[name] = _normalised(fact, value)
    return document


def check_body(entity_set: EntitySetFact, body: Any, *, creating: bool) -> Document:
    """The body as a Document; ODataError 400 naming every problem when any."""
    problems: list[Problem] = []
    document = _check(entity_set, body, problems, creating=creating, path=entity_set.name)
    if problems:
        code, message, _ = problems[0]
        raise bad_request(code, message, [(f"S4SIM/{each}", text, ref) for each, text, ref in problems])
    return document
