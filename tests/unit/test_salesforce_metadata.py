"""salesforce/ (SFDX source) has every Account field the code writes, with a type and length that fit
what the code writes there, and permission sets that let the integration user write them."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ElementTree
from datetime import UTC, datetime
from pathlib import Path

import pytest

from shared.core.models import MappingWarning
from shared.salesforce import simple_salesforce
from shared.salesforce.port import (
    CUSTOMER_NUMBER_FIELD,
    SYNC_ERROR_FIELD,
    SYNC_STATUS_FIELD,
    SYNC_WARNINGS_FIELD,
    SYNCED_AT_FIELD,
)
from shared.settings import SalesforceSettings

ROOT = Path(__file__).resolve().parents[2]
PROJECT = ROOT / "salesforce"
SOURCE = PROJECT / "force-app" / "main" / "default"
FIELDS = SOURCE / "objects" / "Account" / "fields"
PERMISSION_SETS = SOURCE / "permissionsets"
NS = {"md": "http://soap.sforce.com/2006/04/metadata"}
WRITTEN_BY_THE_CODE = (CUSTOMER_NUMBER_FIELD, SYNC_STATUS_FIELD, SYNC_ERROR_FIELD, SYNCED_AT_FIELD, SYNC_WARNINGS_FIELD)
# SAP's KNA1-KUNNR: the customer number the code writes.
SAP_CUSTOMER_NUMBER_LENGTH = 10


def xml_files() -> list[Path]:
    return sorted(PROJECT.rglob("*.xml"))


def field(name: str) -> ElementTree.Element:
    path = FIELDS / f"{name}.field-meta.xml"
    assert path.is_file(), f"{name} is not in {FIELDS.relative_to(ROOT)}"
    return ElementTree.parse(path).getroot()


def text(element: ElementTree.Element, tag: str) -> str | None:
    found = element.find(f"md:{tag}", NS)
    return None if found is None else (found.text or "")


def fields() -> dict[str, ElementTree.Element]:
    return {
        path.name.removesuffix(".field-meta.xml"): ElementTree.parse(path).getroot()
        for path in FIELDS.glob("*.field-meta.xml")
    }


def permission_set(name: str) -> dict[str, tuple[bool, bool]]:
    """Account field -> (readable, editable) in the permission set."""
    root = ElementTree.parse(PERMISSION_SETS / f"{name}.permissionset-meta.xml").getroot()
    granted = {}
    for permission in root.findall("md:fieldPermissions", NS):
        obj, _, name_ = text(permission, "field").partition(".")
        assert obj == "Account"
        granted[name_] = (text(permission, "readable") == "true", text(permission, "editable") == "true")
    return granted


@pytest.mark.parametrize("path", xml_files(), ids=lambda path: path.name)
def test_every_metadata_file_is_well_formed_metadata_xml(path):
    root = ElementTree.parse(path).getroot()
    assert root.tag.startswith("{" + NS["md"] + "}")
    assert path.read_text(encoding="utf-8").startswith('<?xml version="1.0" encoding="UTF-8"?>')


def test_sfdx_project_points_at_the_source_and_uses_the_apps_api_version():
    project = json.loads((PROJECT / "sfdx-project.json").read_text(encoding="utf-8"))
    [directory] = project["packageDirectories"]
    assert (PROJECT / directory["path"]).is_dir() and directory["default"] is True
    assert project["sourceApiVersion"] == SalesforceSettings().api_version


def test_each_field_file_is_named_after_its_full_name_and_has_a_label_and_description():
    for name, root in fields().items():
        assert text(root, "fullName") == name
        assert name.endswith("__c") and text(root, "label") and text(root, "description")


@pytest.mark.parametrize("name", WRITTEN_BY_THE_CODE)
def test_every_field_the_write_back_writes_exists(name):
    assert text(field(name), "type")


def test_the_customer_number_is_a_unique_external_id_long_enough_for_sap():
    number = field(CUSTOMER_NUMBER_FIELD)
    assert text(number, "type") == "Text"
    assert int(text(number, "length")) == SAP_CUSTOMER_NUMBER_LENGTH
    assert text(number, "externalId") == "true" and text(number, "unique") == "true"
    assert text(number, "caseSensitive") == "false"


def test_the_error_text_the_code_writes_fits_the_error_field():
    error = field(SYNC_ERROR_FIELD)
    kind = text(error, "type")
    assert kind in ("Text", "LongTextArea", "TextArea")
    length = int(text(error, "length") or 255)
    assert length >= simple_salesforce.SYNC_ERROR_MAX_LENGTH
    longest = simple_salesforce.truncate_sync_error("x" * 10_000)
    assert len(longest) <= length


def test_the_status_picklist_has_every_status_the_code_writes_and_only_those_are_allowed():
    status = field(SYNC_STATUS_FIELD)
    assert text(status, "type") == "Picklist"
    value_set = status.find("md:valueSet", NS)
    assert text(value_set, "restricted") == "true"
    values = [text(value, "fullName") for value in value_set.findall("md:valueSetDefinition/md:value", NS)]
    written = {value for name, value in vars(simple_salesforce).items() if name.startswith("STATUS_")}
    assert written == {"Synced", "Failed"}
    assert set(values) == written


def test_synced_at_is_a_date_time_and_the_code_writes_an_iso_timestamp():
    assert text(field(SYNCED_AT_FIELD), "type") == "DateTime"
    written = simple_salesforce._salesforce_datetime(datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC))
    assert written == "2026-01-02T03:04:05.000+00:00"


def test_the_code_writes_only_fields_that_exist(monkeypatch):
    """What record_created and record_failed actually send, field by field."""
    sent: list[dict] = []
    writer = object.__new__(simple_salesforce.SimpleSalesforceWriteBack)
    monkeypatch.setattr(writer, "_update_account", lambda account_id, values: sent.append(values), raising=False)
    writer.record_created("001Dn00000AbCdEIAV", "0000100042", datetime.now(UTC))
    writer.record_failed("001Dn00000AbCdEIAV", "E F2 173: " + "x" * 400, datetime.now(UTC))
    many = [MappingWarning("street", "street shortened to 35 characters for SAP (STREET): " + "y" * 200)] * 3
    writer.record_created("001Dn00000AbCdEIAV", "0000100042", datetime.now(UTC), many)
    existing = fields()
    for values in sent:
        assert set(values) <= set(existing)
        for name, value in values.items():
            length = text(existing[name], "length")
            if isinstance(value, str) and length and text(existing[name], "type") == "Text":
                assert len(value) <= int(length), name
    assert sent[0][SYNC_STATUS_FIELD] == "Synced" and sent[1][SYNC_STATUS_FIELD] == "Failed"
    # The warnings only when something was changed, cut to the field's length.
    assert SYNC_WARNINGS_FIELD not in sent[0]
    assert sent[2][SYNC_STATUS_FIELD] == "Synced" and sent[2][SYNC_WARNINGS_FIELD].endswith("…")


def test_the_integration_user_may_write_every_field_the_code_writes_and_read_the_rest():
    granted = permission_set("SAP_Customer_Sync_Integration")
    for name in WRITTEN_BY_THE_CODE:
        assert granted.get(name) == (True, True), name
    assert set(granted) == set(fields())
    root = ElementTree.parse(PERMISSION_SETS / "SAP_Customer_Sync_Integration.permissionset-meta.xml").getroot()
    api = [p for p in root.findall("md:userPermissions", NS) if text(p, "name") == "ApiEnabled"]
    assert api and text(api[0], "enabled") == "true"
    [account] = root.findall("md:objectPermissions", NS)
    assert text(account, "allowRead") == "true" and text(account, "allowEdit") == "true"
    assert text(account, "allowDelete") == "false" and text(account, "allowCreate") == "false"


def test_readers_read_every_sap_field_and_change_none():
    granted = permission_set("SAP_Customer_Sync_Reader")
    assert set(granted) == set(fields())
    assert all(readable and not editable for readable, editable in granted.values())


def test_no_field_is_required_so_permission_sets_may_grant_it():
    # Salesforce refuses fieldPermissions for universally required fields.
    assert all(text(root, "required") in (None, "false") for root in fields().values())


def test_the_fake_salesforce_knows_every_field_of_the_metadata_with_its_length():
    from devtools.fake_salesforce import ACCOUNT_FIELDS

    for name, root in fields().items():
        assert name in ACCOUNT_FIELDS, name
        if text(root, "type") == "Text":
            assert ACCOUNT_FIELDS[name] == int(text(root, "length")), name
