"""The fake Salesforce's flows and custom metadata (issue 26): what the go-live check asks about the change trigger,
served the way Salesforce serves it, each fact with its source (developer.salesforce.com unless said otherwise).

* Tooling API query on FlowDefinition (Tooling API Developer Guide, "FlowDefinition", API 34.0+): `Id`,
  `DeveloperName`, `ActiveVersionId` ("The ID of the active flow version"; null when none is active),
  `LatestVersionId`. Tooling API query on Flow ("Flow"): `Id`, `Status` (Active, Draft, Obsolete, InvalidDraft),
  `Metadata`, the Metadata API's Flow type (Metadata API Developer Guide, "Flow": `start` with `object`,
  `triggerType`, `recordTriggerType`, `filterFormula`, `doesRequireRecordChangedToMeetCriteria`; `actionCalls`
  with `name`, `actionName`, `actionType`), which may be queried only when the query returns at most one record,
  as for WorkflowOutboundMessage (the same error text is used here; unverified for Flow). The JSON spelling of
  `Metadata` is the Metadata API's element names (unverified against a live org; jsforce reads Tooling Metadata
  the same way for WorkflowOutboundMessage, see fake_salesforce_setup.py).
* SOQL on a custom metadata type, here SAP_Customer_Sync_Setting__mdt (Salesforce Help, "Access Custom Metadata
  Records Programmatically": custom metadata records are queryable with SOQL; `DeveloperName` is the record's
  name). The field values are the project's record as `sf project deploy start` leaves it: the placeholder of the
  integration user's Id replaced by the org's integration user (sfdx-project.json's replacement).

The org starts with the project's flows (salesforce/force-app/main/default/flows/*.flow-meta.xml), each active
with its metadata as the file has it. Knobs, each breaking one thing: `deactivate_flow`, `delete_flow`,
`change_flow` (replace parts of the active version's metadata, e.g. a formula), `set_setting`.
"""

from __future__ import annotations

import threading
import xml.etree.ElementTree as ElementTree
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from devtools.fake_salesforce_soql import id18, selection

_SOURCE = Path(__file__).resolve().parents[1] / "salesforce" / "force-app" / "main" / "default"
_FLOWS = _SOURCE / "flows"
_SETTING_RECORD = _SOURCE / "customMetadata" / "SAP_Customer_Sync_Setting.Default.md-meta.xml"
_NS = {"md": "http://soap.sforce.com/2006/04/metadata"}
_USER_ID_PLACEHOLDER = "005000000000000AAA"  # sfdx-project.json's string to replace
SETTING_TYPE = "SAP_Customer_Sync_Setting__mdt"
TOOLING_OBJECTS = ("FlowDefinition", "Flow")
QUERY_OBJECTS = (SETTING_TYPE,)
_COLUMNS: dict[str, tuple[str, ...]] = {
    "FlowDefinition": ("Id", "DeveloperName", "ActiveVersionId", "LatestVersionId"),
    "Flow": ("Id", "Status", "Metadata"),
}


def project_flow(api_name: str) -> dict[str, Any]:
    """A project flow's metadata as the Metadata API's Flow type in JSON (the parts the check reads)."""
    root = ElementTree.parse(_FLOWS / f"{api_name}.flow-meta.xml").getroot()
    start = root.find("md:start", _NS)
    assert start is not None

    def texts(element: ElementTree.Element, *tags: str) -> dict[str, Any]:
        return {tag: element.findtext(f"md:{tag}", namespaces=_NS) for tag in tags}

    return {
        "apiVersion": float(root.findtext("md:apiVersion", default="0", namespaces=_NS)),
        "label": root.findtext("md:label", namespaces=_NS),
        "processType": root.findtext("md:processType", namespaces=_NS),
        "status": root.findtext("md:status", namespaces=_NS),
        "start": {
            **texts(start, "object", "triggerType", "recordTriggerType", "filterFormula"),
            "doesRequireRecordChangedToMeetCriteria": start.findtext(
                "md:doesRequireRecordChangedToMeetCriteria", namespaces=_NS
            )
            == "true",
        },
        "actionCalls": [
            texts(action, "name", "actionName", "actionType") for action in root.findall("md:actionCalls", _NS)
        ],
    }


def project_setting(integration_user_id: str) -> dict[str, str | None]:
    """The custom metadata record Default as deployed: its values by field, the user Id placeholder replaced."""
    root = ElementTree.parse(_SETTING_RECORD).getroot()
    values: dict[str, str | None] = {}
    for value in root.findall("md:values", _NS):
        name = value.findtext("md:field", namespaces=_NS) or ""
        text = value.findtext("md:value", namespaces=_NS)
        values[name] = integration_user_id if text == _USER_ID_PLACEHOLDER else text
    return values


@dataclass
class _Flow:
    definition_id: str
    version_id: str
    api_name: str
    active: bool
    metadata: dict[str, Any] = field(default_factory=dict)


class FakeFlows:
    """The org's record-triggered flows and the sync's custom metadata record. Thread-safe."""

    def __init__(self, integration_user_id: str) -> None:
        self._lock = threading.Lock()
        self._numbers = iter(range(1, 10**6))
        self._flows: dict[str, _Flow] = {}
        for path in sorted(_FLOWS.glob("*.flow-meta.xml")):
            api_name = path.name.removesuffix(".flow-meta.xml")
            number = next(self._numbers)
            self._flows[api_name] = _Flow(
                id18(f"3005g{number:010d}"), id18(f"3015g{number:010d}"), api_name, True, project_flow(api_name)
            )
        self._setting = project_setting(integration_user_id)
        self._setting_id = id18("m005g0000000001")

    # ----------------------------------------------------------------------------- knobs

    def deactivate_flow(self, api_name: str) -> None:
        """Setup > Flows > the flow > Deactivate: no active version."""
        with self._lock:
            self._flows[api_name].active = False

    def delete_flow(self, api_name: str) -> None:
        with self._lock:
            del self._flows[api_name]

    def change_flow(self, api_name: str, *, start: dict[str, Any] | None = None, **metadata: Any) -> None:
        """A new active version with parts of its metadata replaced (`start=` merges into the start element)."""
        with self._lock:
            flow = self._flows[api_name]
            changed = {**flow.metadata, **metadata}
            if start:
                changed["start"] = {**flow.metadata["start"], **start}
            number = next(self._numbers)
            flow.version_id, flow.metadata, flow.active = id18(f"3015g{number + 500:010d}"), changed, True

    def set_setting(self, field_name: str, value: str | None) -> None:
        """Setup > Custom Metadata Types > SAP Customer Sync Setting > Default > Edit."""
        with self._lock:
            self._setting[field_name] = value

    # ----------------------------------------------------------------------------- answers

    def tooling_rows(
        self,
        sobject: str,
        fields: Sequence[str],
        conditions: Sequence[tuple[str, str, Any]],
        compare: Callable[[Any, str, Any], bool],
        version: str,
    ) -> list[dict[str, Any]]:
        """Rows of FlowDefinition or Flow; Metadata with more than one row: ValueError; KeyError: no such field."""
        selected, where = selection(fields, conditions, _COLUMNS[sobject])
        with self._lock:
            if sobject == "FlowDefinition":
                records = [
                    {
                        "Id": flow.definition_id,
                        "DeveloperName": flow.api_name,
                        "ActiveVersionId": flow.version_id if flow.active else None,
                        "LatestVersionId": flow.version_id,
                    }
                    for flow in self._flows.values()
                ]
            else:
                records = [
                    {
                        "Id": flow.version_id,
                        "Status": "Active" if flow.active else "Obsolete",
                        "Metadata": {**flow.metadata, "status": "Active" if flow.active else "Obsolete"},
                    }
                    for flow in self._flows.values()
                ]
        chosen = [r for r in records if all(compare(r.get(name), op, value) for name, op, value in where)]
        if len(chosen) > 1 and "Metadata" in selected:
            raise ValueError(
                "When retrieving results with Metadata or FullName fields, the query qualifications must "
                f"specify no more than one row for retrieval. Result size: {len(chosen)}"
            )
        url = f"/services/data/v{version}/tooling/sobjects/{sobject}/"
        return [
            {"attributes": {"type": sobject, "url": url + r["Id"]}, **{name: r[name] for name in selected}}
            for r in chosen
        ]

    def setting_rows(
        self,
        fields: Sequence[str],
        conditions: Sequence[tuple[str, str, Any]],
        compare: Callable[[Any, str, Any], bool],
        version: str,
    ) -> list[dict[str, Any]]:
        """Rows of SAP_Customer_Sync_Setting__mdt (one record, Default); KeyError: no such field."""
        with self._lock:
            record = {"Id": self._setting_id, "DeveloperName": "Default", "MasterLabel": "Default", **self._setting}
        selected, where = selection(fields, conditions, tuple(record))
        if not all(compare(record.get(name), operator, value) for name, operator, value in where):
            return []
        url = f"/services/data/v{version}/sobjects/{SETTING_TYPE}/{record['Id']}"
        return [{"attributes": {"type": SETTING_TYPE, "url": url}, **{name: record[name] for name in selected}}]
