"""The OData service API_BUSINESS_PARTNER as the S/4 double serves it, without HTTP (server.py adds
logon, sessions, CSRF and faults).

What it does, and where each behaviour comes from (facts: shared/core/business_partner_facts.py):
* GET an entity set (with $filter `P eq 'v' [and ...]`, $select, $expand, $top, $skip, $inlinecount),
  an entity by key (with its ETag header), a navigation of an entity.
* POST A_BusinessPartner as a deep insert: the partner with to_BusinessPartnerAddress (each with
  to_PhoneNumber / to_EmailAddress) and to_BusinessPartnerRole, created in one transaction or not at all.
* CVI (SAP Help "Customer Business Partner Role": "When you create a business partner in these business
  partner roles, a customer master record is automatically created at the same time and assigned to the
  business partner"): a partner that gets FLCU00 or FLCU01 gets an A_Customer, whose number fills the
  read-only A_BusinessPartner.Customer. Numbers come from separate ranges (Numbering), or the customer
  takes the partner's number when `same_numbers` (CVI's "same number" assignment). A_Customer itself is
  not creatable (sap:creatable="false"): POST answers 405 (SAP's status for it unverified).
* POST A_CustomerSalesArea and A_CustomerCompany (or through A_Customer(...)/to_CustomerSalesArea and
  /to_CustomerCompany) under an existing customer; sales area data needs the partner's role FLCU01 and
  company code data FLCU00 (the roles' views: SAP Community blog "Business Partner with Company Code and
  Sales/Purchasing view", 2021), and a sales area or company code the double's customising knows.
* PATCH (or MERGE) an entity with If-Match: 428 without it (SAP KBA 3514624, S/4HANA Cloud; code and
  text as SAP KBA 2962502 quotes SADL's message), 412 when it names another version, `*` accepted (KBA
  2962502's resolution). Every entity has an ETag (which sets SAP versions is not in the metadata: all
  here, the closed side). An address keeps its Country (the create's rule; issue 26's change path).
* The reference customers 1000 and 3000 of the RFC simulator's IDES customising (sap_simulator/records.py)
  as partners with their customer, sales area and company code data, for the product's copy of them.
Not modelled: PUT, DELETE, $batch, $orderby, other $filter operators, field control, duplicate checks.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from s4_simulator.creation import create_entity
from s4_simulator.documents import Document, check_body
from s4_simulator.metadata import metadata_document
from s4_simulator.model import Customizing, Numbering, new_etag, partner_names, row_set
from s4_simulator.odata import (
    ODataError,
    ResourcePath,
    bad_request,
    entity_json,
    key_predicate,
    not_found,
    parse_filter,
    parse_path,
)
from s4_simulator.store import Row, S4Database, Transaction
from shared.core.business_partner_facts import (
    BUSINESS_PARTNER,
    BUSINESS_PARTNER_ADDRESS,
    CUSTOMER,
    ENTITY_SETS,
    EntitySetFact,
)

QUERY_OPTIONS = frozenset({"$filter", "$select", "$expand", "$top", "$skip", "$inlinecount", "$format"})


@dataclass
class Reply:
    status: int
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)


def _json_reply(status: int, data: Any, headers: dict[str, str] | None = None) -> Reply:
    body = json.dumps({"d": data}, ensure_ascii=False).encode()
    return Reply(status, body, {"Content-Type": "application/json; charset=utf-8", **(headers or {})})


class S4Service:
    """The service over a database; every request is one transaction (the database's lock serialises them)."""

    def __init__(
        self, database: S4Database, numbering: Numbering | None = None, customizing: Customizing | None = None
    ) -> None:
        self.database = database
        self.numbering = numbering or Numbering()
        self.customizing = customizing or Customizing()

    # ------------------------------------------------------------------ dispatch

    def handle(
        self, method: str, path: str, query: dict[str, str], body: bytes, headers: dict[str, str], base: str
    ) -> Reply:
        """`path` is below the service root; `headers` have lower-case names; `base` is the service root URL."""
        try:
            if path.strip("/") == "$metadata" and method == "GET":
                return Reply(200, metadata_document(), {"Content-Type": "application/xml"})
            if path.strip("/") == "" and method == "GET":
                return _json_reply(200, {"EntitySets": list(ENTITY_SETS)})
            unknown = sorted(name for name in query if name.startswith("$") and name not in QUERY_OPTIONS)
            if unknown:
                raise bad_request("QUERY_OPTION", f"System query option {unknown[0]} is not supported by the double")
            resource = parse_path(path)
            if method == "GET":
                return self._get(resource, query, base)
            if method == "POST":
                return self._post(resource, _json_body(body), base)
            if method in ("PATCH", "MERGE"):
                return self._patch(resource, _json_body(body), headers.get("if-match"))
            raise ODataError(
                405 if method in ("PUT", "DELETE") else 501,
                "S4SIM/METHOD",
                f"{method} is not implemented by the double",
            )
        except ODataError as error:
            return Reply(error.status, error.body(), {"Content-Type": "application/json", **error.headers})

    # ------------------------------------------------------------------ reads

    def _get(self, resource: ResourcePath, query: dict[str, str], base: str) -> Reply:
        select = _names(query.get("$select"))
        expand = _names(query.get("$expand"))
        with self.database.transaction() as tx:
            if resource.key is None:
                rows = self._query(tx, resource.entity_set, query)
                return self._collection(tx, rows, resource.entity_set, query, base, select, expand)
            row = tx.get(resource.entity_set.name, resource.key)
            if row is None:
                raise not_found(f"{resource.entity_set.name}{key_predicate(resource.entity_set, resource.key)}")
            if resource.navigation is None:
                data = self._entity(tx, row, resource.entity_set, base, select, expand)
                return _json_reply(200, data, {"ETag": row.etag})
            navigation = resource.entity_set.navigation(resource.navigation)
            target = ENTITY_SETS[navigation.target]
            children = self._navigate(tx, row, resource.navigation)
            if navigation.to_many:
                rows = _filtered(children, target, query)
                return self._collection(tx, rows, target, query, base, select, expand)
            if not children:
                raise not_found(resource.navigation)
            return _json_reply(
                200, self._entity(tx, children[0], target, base, select, expand), {"ETag": children[0].etag}
            )

    def _query(self, tx: Transaction, entity_set: EntitySetFact, query: dict[str, str]) -> list[Row]:
        conditions = parse_filter(entity_set, query["$filter"]) if "$filter" in query else []
        external = [value for name, value in conditions if name == "BusinessPartnerIDByExtSystem"]
        if entity_set is BUSINESS_PARTNER and external:
            rows = tx.with_external_id(entity_set.name, external[0])
        else:
            rows = tx.all(entity_set.name)
        return [row for row in rows if all(row.record.get(name) == value for name, value in conditions)]

    def _collection(
        self,
        tx: Transaction,
        rows: list[Row],
        entity_set: EntitySetFact,
        query: dict[str, str],
        base: str,
        select: set[str] | None,
        expand: set[str] | None,
    ) -> Reply:
        count = len(rows)
        skip, top = _whole(query, "$skip"), _whole(query, "$top")
        rows = rows[skip or 0 :]
        rows = rows[:top] if top is not None else rows
        data: dict[str, Any] = {"results": [self._entity(tx, row, entity_set, base, select, expand) for row in rows]}
        if query.get("$inlinecount") == "allpages":
            data["__count"] = str(count)
        return _json_reply(200, data)

    def _navigate(self, tx: Transaction, row: Row, navigation: str) -> list[Row]:
        if navigation == "to_Customer":
            customer = row.record.get("Customer") or ""
            found = tx.get(CUSTOMER.name, (customer,)) if customer else None
            return [found] if found is not None else []
        target = ENTITY_SETS[row_set(row).navigation(navigation).target]
        return tx.children(target.name, row.key)

    def _entity(
        self,
        tx: Transaction,
        row: Row,
        entity_set: EntitySetFact,
        base: str,
        select: set[str] | None,
        expand: set[str] | None,
    ) -> dict[str, Any]:
        expanded: dict[str, Any] = {}
        for path in expand or ():
            first, _, rest = path.partition("/")
            if first not in {navigation.name for navigation in entity_set.navigations}:
                raise bad_request("EXPAND", f"$expand {path}: {entity_set.entity_type} has no navigation {first}")
            navigation = entity_set.navigation(first)
            target = ENTITY_SETS[navigation.target]
            inner = {rest} if rest else None
            children = [self._entity(tx, child, target, base, None, inner) for child in self._navigate(tx, row, first)]
            expanded[first] = {"results": children} if navigation.to_many else (children[0] if children else None)
        if select is not None:
            wrong = sorted(
                name
                for name in select
                if name not in expanded
                and not entity_set.has_property(name)
                and name not in {navigation.name for navigation in entity_set.navigations}
            )
            if wrong:
                raise bad_request("SELECT", f"$select: property {wrong[0]} does not exist in {entity_set.entity_type}")
        return entity_json(base, entity_set, row.key, row.record, row.etag, select=select, expanded=expanded)

    # ------------------------------------------------------------------ creates

    def _post(self, resource: ResourcePath, body: Any, base: str) -> Reply:
        if resource.key is not None and resource.navigation is None:
            raise ODataError(405, "S4SIM/METHOD", "POST to a single entity is not allowed; POST to its entity set")
        if resource.navigation is not None:
            target = ENTITY_SETS[resource.entity_set.navigation(resource.navigation).target]
        else:
            target = resource.entity_set
        if not target.creatable:
            raise ODataError(
                405, "S4SIM/NOT_CREATABLE", f"Entity set {target.name} is not creatable (sap:creatable=false)"
            )
        document = check_body(target, body, creating=True)
        with self.database.transaction() as tx:
            parent = None
            if resource.navigation is not None:
                parent = tx.get(resource.entity_set.name, resource.key or ())
                if parent is None:
                    raise not_found(resource.entity_set.name)
                if resource.navigation == "to_Customer":  # not reached: A_Customer is not creatable
                    raise ODataError(405, "S4SIM/NOT_CREATABLE", "A_Customer is created by CVI only")
            created = self._create(tx, document, parent)
            data = self._created_json(tx, created, _shape(document), base)
        location = data["__metadata"]["uri"]
        return _json_reply(201, data, {"Location": location, "ETag": created.etag})

    def _created_json(self, tx: Transaction, row: Row, shape: dict[str, Any], base: str) -> dict[str, Any]:
        """The created entity as answered: with the navigations the request nested, expanded (as a deep
        insert's answer carries them; whether SAP's carries the CVI-filled Customer is unverified)."""
        entity_set = row_set(row)
        expanded: dict[str, Any] = {}
        for navigation_name, inner in shape.items():
            children = [
                self._created_json(tx, child, inner, base) for child in self._navigate(tx, row, navigation_name)
            ]
            expanded[navigation_name] = {"results": children}
        return entity_json(base, entity_set, row.key, row.record, row.etag, expanded=expanded)

    def _create(self, tx: Transaction, document: Document, parent: Row | None) -> Row:
        return create_entity(self, tx, document, parent)

    # ------------------------------------------------------------------ updates

    def _patch(self, resource: ResourcePath, body: Any, if_match: str | None) -> Reply:
        if resource.key is None or resource.navigation is not None:
            raise ODataError(405, "S4SIM/METHOD", "PATCH needs a single entity: <EntitySet>(<key>)")
        entity_set = resource.entity_set
        document = check_body(entity_set, body, creating=False)
        with self.database.transaction() as tx:
            row = tx.get(entity_set.name, resource.key)
            if row is None:
                raise not_found(f"{entity_set.name}{key_predicate(entity_set, resource.key)}")
            if not if_match:
                raise ODataError(
                    428,
                    "SADL_ENTITY_RUNTIME/004",
                    f"Precondition required for entity CDS~{entity_set.name.upper()} (If-Match missing)",
                )
            offered = {tag.strip() for tag in if_match.split(",")}
            if "*" not in offered and row.etag not in offered:
                raise ODataError(
                    412,
                    "S4SIM/PRECONDITION_FAILED",
                    f"The ETag in If-Match is not the current version of {entity_set.name}: read it again",
                )
            for name in entity_set.keys:
                if (
                    name in document.properties
                    and document.properties[name] != dict(zip(entity_set.keys, row.key, strict=True))[name]
                ):
                    raise bad_request(
                        "KEY_CHANGE",
                        f"Key property {name} cannot be changed",
                        [
                            (
                                "S4SIM/KEY_CHANGE",
                                f"Key property {name} cannot be changed",
                                f"{entity_set.entity_type}/{name}",
                            )
                        ],
                    )
            record = {**row.record, **document.properties}
            if entity_set is BUSINESS_PARTNER_ADDRESS and not str(record.get("Country") or "").strip():
                # The create's rule (creation.py: "An address needs a Country") holds for a change too.
                where = f"{entity_set.entity_type}/Country"
                raise bad_request(
                    "REQUIRED", "An address needs a Country", [("S4SIM/REQUIRED", "An address needs a Country", where)]
                )
            if entity_set is BUSINESS_PARTNER:
                record.update(partner_names(record))
            tx.put(
                entity_set.name,
                row.key,
                record,
                new_etag(),
                parent=None,
                external_id=record.get("BusinessPartnerIDByExtSystem") if entity_set is BUSINESS_PARTNER else None,
            )
        return Reply(204)


def _shape(document: Document) -> dict[str, Any]:
    """Which navigations a request nested, at every level (merged over its entries)."""
    shape: dict[str, Any] = {}
    for name, nested in document.nested.items():
        inner: dict[str, Any] = {}
        for child in nested:
            inner.update(_shape(child))
        shape[name] = inner
    return shape


def _json_body(body: bytes) -> Any:
    try:
        return json.loads(body or b"null")
    except ValueError:
        raise bad_request("MALFORMED", "The request body is not JSON (the double speaks OData V2 JSON only)") from None


def _names(text: str | None) -> set[str] | None:
    return None if text is None else {name.strip() for name in text.split(",") if name.strip()}


def _whole(query: dict[str, str], option: str) -> int | None:
    text = query.get(option)
    if text is None:
        return None
    if not text.isdigit():
        raise bad_request("QUERY_OPTION", f"{option} must be a whole number, not '{text}'")
    return int(text)


def _filtered(rows: list[Row], entity_set: EntitySetFact, query: dict[str, str]) -> list[Row]:
    conditions = parse_filter(entity_set, query["$filter"]) if "$filter" in query else []
    return [row for row in rows if all(row.record.get(name) == value for name, value in conditions)]
