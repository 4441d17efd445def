"""flow/ (the Power Automate solution source): the definition parses, its actions call operations and
parameters that exist in the connector's swagger, it reads and writes Salesforce fields that exist in
salesforce/ and fit, its pieces refer to each other, its connector reference has the form Power Platform
gives a custom connector's API, its condition keeps its own write-back from starting it again, and no
action writes Synced without a number. The conditions are evaluated by tests/support/flow_engine.py."""

from __future__ import annotations

import importlib.util
import json
import re
import shutil
import xml.etree.ElementTree as ElementTree
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from shared.salesforce import simple_salesforce
from tests.support.flow_engine import Context, reachable, walk

ROOT = Path(__file__).resolve().parents[2]
SOLUTION = ROOT / "flow" / "solution"
[WORKFLOW_FILE] = sorted((SOLUTION / "Workflows").glob("*.json"))
FLOW = json.loads(WORKFLOW_FILE.read_text(encoding="utf-8"))
DEFINITION = FLOW["properties"]["definition"]
SWAGGER = json.loads((ROOT / "connector" / "apiDefinition.swagger.json").read_text(encoding="utf-8"))
SF_FIELDS = ROOT / "salesforce" / "force-app" / "main" / "default" / "objects" / "Account" / "fields"
SF_NS = {"md": "http://soap.sforce.com/2006/04/metadata"}
CONDITION = "Is_a_new_customer_without_SAP_number"
CREATE = "Create_SAP_customer"
# The change branch (issue 26): a synced account's changes to ChangeSAPCustomer.
CHANGE_CONDITION = "Is_a_change_of_a_synced_customer"
CHANGE = "Change_SAP_customer"
# Standard Account fields (Salesforce's Account object reference) the flow may read.
STANDARD_ACCOUNT_FIELDS = {
    "Id",
    "Name",
    "Type",
    "BillingStreet",
    "BillingCity",
    "BillingPostalCode",
    "BillingState",
    "BillingStateCode",
    "BillingCountry",
    "BillingCountryCode",
    "Phone",
    "CurrencyIsoCode",
    "LastModifiedById",
    "LastModifiedDate",
    "SystemModstamp",
}
INTEGRATION_USER = "005Dn000001IntUSER"
PEOPLE = "005Dn000001PersonAA"


def all_actions(actions: dict | None = None, scope: str = "") -> Iterator[tuple[str, dict, dict]]:
    """(name, action, its sibling actions) for every action, nested ones included."""
    actions = DEFINITION["actions"] if actions is None else actions
    for name, action in actions.items():
        yield name, action, actions
        yield from all_actions(action.get("actions", {}), name)
        yield from all_actions(action.get("else", {}).get("actions", {}), name)
        for case in action.get("cases", {}).values():
            yield from all_actions(case.get("actions", {}), name)


ACTIONS = {name: action for name, action, _ in all_actions()}


def connector_calls(connection: str) -> dict[str, dict]:
    return {
        name: action
        for name, action in ACTIONS.items()
        if action["type"] == "OpenApiConnection" and action["inputs"]["host"]["connectionName"] == connection
    }


def swagger_operations() -> dict[str, dict]:
    return {op["operationId"]: op for item in SWAGGER["paths"].values() for op in item.values()}


def resolve(schema: dict) -> dict:
    ref = schema.get("$ref")
    return SWAGGER["definitions"][ref.rsplit("/", 1)[1]] if ref else schema


def sf_field(name: str) -> ElementTree.Element | None:
    path = SF_FIELDS / f"{name}.field-meta.xml"
    return ElementTree.parse(path).getroot() if path.is_file() else None


def sf_text(element: ElementTree.Element, tag: str) -> str | None:
    found = element.find(f"md:{tag}", SF_NS)
    return None if found is None else found.text


def flow_text() -> str:
    return WORKFLOW_FILE.read_text(encoding="utf-8")


# --- it parses and holds together ----------------------------------------------------------------------


def test_the_definition_parses_as_a_logic_apps_workflow():
    assert FLOW["schemaVersion"] == "1.0.0.0"
    assert DEFINITION["$schema"].endswith("/workflowdefinition.json#")
    assert {"$connections", "$authentication"} <= set(DEFINITION["parameters"])
    assert ACTIONS and all("type" in action for action in ACTIONS.values())


def test_the_trigger_is_salesforce_when_a_record_is_modified_on_account():
    [(name, trigger)] = DEFINITION["triggers"].items()
    assert name == "When_a_record_is_modified"
    host = trigger["inputs"]["host"]
    assert host["connectionName"] == "shared_salesforce" and host["operationId"] == "GetOnUpdatedItems"
    assert trigger["inputs"]["parameters"]["table"] == "Account"
    assert trigger["recurrence"]["frequency"] == "Minute" and trigger["recurrence"]["interval"] >= 1
    assert trigger["splitOn"] == "@triggerOutputs()?['body/value']"


def test_every_run_after_names_a_sibling():
    for name, action, siblings in all_actions():
        assert set(action.get("runAfter", {})) <= set(siblings) - {name}, name


def test_action_names_are_unique():
    names = [name for name, _, _ in all_actions()]
    assert len(names) == len(set(names))


def test_every_connection_is_a_connection_reference_of_the_solution():
    customizations = ElementTree.parse(SOLUTION / "Other" / "Customizations.xml").getroot()
    references = {
        ref.get("connectionreferencelogicalname"): ref.findtext("connectorid")
        for ref in customizations.iter("connectionreference")
    }
    flow_references = FLOW["properties"]["connectionReferences"]
    every = [*ACTIONS.values(), *DEFINITION["triggers"].values()]
    used = {action["inputs"]["host"]["connectionName"] for action in every if action["type"] == "OpenApiConnection"}
    assert used == set(flow_references)
    for name, reference in flow_references.items():
        logical = reference["connection"]["connectionReferenceLogicalName"]
        assert logical in references, logical
        assert references[logical].rsplit("/", 1)[1] == reference["api"]["name"], name
    for action in [*ACTIONS.values(), *DEFINITION["triggers"].values()]:
        if action["type"] == "OpenApiConnection":
            host = action["inputs"]["host"]
            assert host["apiId"].rsplit("/", 1)[1] == flow_references[host["connectionName"]]["api"]["name"]


def test_the_solution_lists_the_workflow_and_its_environment_variables():
    manifest = ElementTree.parse(SOLUTION / "Other" / "Solution.xml").getroot()
    components = manifest.find("SolutionManifest/RootComponents")
    workflow_ids = {c.get("id").strip("{}").lower() for c in components if c.get("type") == "29"}
    variables = {c.get("schemaName") for c in components if c.get("type") == "380"}
    customizations = ElementTree.parse(SOLUTION / "Other" / "Customizations.xml").getroot()
    [workflow] = customizations.iter("Workflow")
    assert workflow.get("WorkflowId").strip("{}").lower() in workflow_ids
    assert (SOLUTION / workflow.findtext("JsonFileName").lstrip("/")) == WORKFLOW_FILE
    assert WORKFLOW_FILE.stem.lower().endswith(workflow.get("WorkflowId").strip("{}").lower())
    schema_names = {
        spec["metadata"]["schemaName"] for name, spec in DEFINITION["parameters"].items() if not name.startswith("$")
    }
    assert schema_names == variables
    for schema_name in schema_names:
        path = SOLUTION / "environmentvariabledefinitions" / schema_name / "environmentvariabledefinition.xml"
        assert ElementTree.parse(path).getroot().get("schemaname") == schema_name


def test_every_parameter_the_flow_uses_is_declared():
    used = set(re.findall(r"parameters\('([^']+)'\)", flow_text()))
    assert used <= set(DEFINITION["parameters"])


# --- the connector: operations, parameters and answers from the swagger ----------------------------------


def test_every_connector_action_is_an_operation_with_parameters_of_the_swagger():
    operations = swagger_operations()
    calls = connector_calls("shared_sapcustomersync")
    assert set(calls) == {CREATE, CHANGE}
    for name, action in calls.items():
        operation = operations[action["inputs"]["host"]["operationId"]]
        body = next((resolve(p["schema"]) for p in operation["parameters"] if p["in"] == "body"), {"properties": {}})
        others = {p["name"] for p in operation["parameters"] if p["in"] != "body"}
        for parameter in action["inputs"]["parameters"]:
            kind, _, prop = parameter.partition("/")
            assert (kind == "body" and prop in body["properties"]) or parameter in others, f"{name}: {parameter}"
        required = set(body.get("required", []))
        assert {f"body/{prop}" for prop in required} <= set(action["inputs"]["parameters"]), name


def _schema_has(schemas: list[dict], path: list[str]) -> bool:
    for schema in schemas:
        current = resolve(schema)
        for part in path:
            current = resolve(current.get("properties", {}).get(part, {}))
            if not current:
                break
        else:
            return True
    return False


@pytest.mark.parametrize(("action", "operation_id"), [(CREATE, "CreateSAPCustomer"), (CHANGE, "ChangeSAPCustomer")])
def test_every_answer_property_the_flow_reads_is_in_the_swaggers_responses(action, operation_id):
    responses = swagger_operations()[operation_id]["responses"]
    schemas = [response["schema"] for response in responses.values() if "schema" in response]
    read = re.findall(rf"outputs\('{action}'\)\?\['body/([^']+)'\]", flow_text())
    assert read
    for path in read:
        assert _schema_has(schemas, path.split("/")), path


def test_the_branches_are_answers_the_swagger_declares():
    codes = {int(code) for code in re.findall(rf"\"@outputs\('{CREATE}'\)\?\['statusCode'\]\",\s*(\d+)", flow_text())}
    # The final answers; a 202 is never final while the asynchronous pattern is on.
    assert codes == {200, 201, 409, 422, 502}
    for operation_id in ("CreateSAPCustomer", "GetSAPCustomerCreateOutcome"):
        declared = set(swagger_operations()[operation_id]["responses"])
        assert {str(code) for code in codes} - {"200"} <= declared, operation_id


def test_the_answer_branches_run_also_after_a_failed_call():
    # A 4xx/5xx answer fails the action; the branch on the status code must still run.
    after = ACTIONS["Created_or_already_there"]["runAfter"][CREATE]
    assert {"Succeeded", "Failed", "TimedOut"} <= set(after)


# --- Salesforce fields: exist and fit ---------------------------------------------------------------------


def test_every_account_field_the_flow_reads_exists():
    read = set(re.findall(r"triggerOutputs\(\)\?\['body/([A-Za-z_]+)'\]", flow_text())) - {"value"}
    for name in read:
        assert name in STANDARD_ACCOUNT_FIELDS or sf_field(name) is not None, name


def test_every_custom_field_passed_to_the_connector_fits_the_request_property():
    request = resolve(swagger_operations()["CreateSAPCustomer"]["parameters"][0]["schema"])["properties"]
    for parameter, value in ACTIONS[CREATE]["inputs"]["parameters"].items():
        match = re.fullmatch(r"@triggerOutputs\(\)\?\['body/([A-Za-z_]+__c)'\]", value)
        if match:
            element = sf_field(match.group(1))
            assert element is not None and sf_text(element, "type") == "Text", value
            prop = parameter.removeprefix("body/")
            assert int(sf_text(element, "length")) <= request[prop]["maxLength"], prop


def test_every_field_the_flow_writes_exists_fits_and_is_the_integration_users_to_write():
    permission_set = ElementTree.parse(
        ROOT
        / "salesforce"
        / "force-app"
        / "main"
        / "default"
        / "permissionsets"
        / "SAP_Customer_Sync_Integration.permissionset-meta.xml"
    ).getroot()
    editable = {
        p.find("md:field", SF_NS).text.removeprefix("Account.")
        for p in permission_set.findall("md:fieldPermissions", SF_NS)
        if p.find("md:editable", SF_NS).text == "true"
    }
    updates = connector_calls("shared_salesforce")
    assert set(updates) == {
        "Update_account_synced",
        "Update_account_failed",
        "Update_account_held",
        "Update_account_changed",
        "Update_account_change_failed",
        "Update_account_change_held",
    }
    for name, action in updates.items():
        # "Update record (V3)": PatchItem is "Update record [DEPRECATED]" in Microsoft Learn's Salesforce
        # connector reference; V3 takes table, id and item, and allows null values (clearing a field).
        assert action["inputs"]["host"]["operationId"] == "PatchItem_V3"
        assert set(action["inputs"]["parameters"]) <= {"table", "id", "$select"} | {
            p for p in action["inputs"]["parameters"] if p.startswith("item/")
        }
        assert action["inputs"]["parameters"]["table"] == "Account"
        for parameter, value in action["inputs"]["parameters"].items():
            if not parameter.startswith("item/"):
                continue
            field = parameter.removeprefix("item/")
            element = sf_field(field)
            assert element is not None and field in editable, f"{name}: {field}"
            if value is None:
                assert sf_text(element, "required") != "true", f"{name}: {field} cannot be cleared"
                continue
            if sf_text(element, "type") == "Picklist":
                allowed = {sf_text(v, "fullName") for v in element.iterfind(".//md:value", SF_NS)}
                assert value in allowed, f"{name}: {field} = {value}"
            if sf_text(element, "type") == "Text" and value.startswith("@take("):
                assert value.endswith(f", {sf_text(element, 'length')})"), f"{name}: {field} is cut to its length"
    assert (
        ACTIONS["Update_account_synced"]["inputs"]["parameters"]["item/SAP_Sync_Status__c"]
        == simple_salesforce.STATUS_SYNCED
    )
    assert (
        ACTIONS["Update_account_failed"]["inputs"]["parameters"]["item/SAP_Sync_Status__c"]
        == simple_salesforce.STATUS_FAILED
    )
    assert ACTIONS["Update_account_synced"]["inputs"]["parameters"]["item/SAP_Sync_Error__c"] is None
    assert (
        ACTIONS["Update_account_changed"]["inputs"]["parameters"]["item/SAP_Sync_Status__c"]
        == simple_salesforce.STATUS_SYNCED
    )
    assert (
        ACTIONS["Update_account_change_failed"]["inputs"]["parameters"]["item/SAP_Sync_Status__c"]
        == simple_salesforce.STATUS_FAILED
    )


# --- the condition: a new customer goes through, the flow's own write-back does not --------------------------


def parameters(**changes: str) -> dict:
    values = {name: spec.get("defaultValue") for name, spec in DEFINITION["parameters"].items()}
    by_schema = {spec.get("metadata", {}).get("schemaName"): name for name, spec in DEFINITION["parameters"].items()}
    values[by_schema["sapsync_IntegrationUserId"]] = INTEGRATION_USER
    for schema_name, value in changes.items():
        values[by_schema[schema_name]] = value
    return values


def context(record: dict, outputs: dict | None = None, **changes: str) -> Context:
    return Context(
        parameters(**changes), {"body": record, "headers": {}}, {CREATE: outputs} if outputs is not None else {}
    )


def starts(record: dict, condition: dict | None = None, **changes: str) -> bool:
    return context(record, **changes).holds(condition or ACTIONS[CONDITION]["expression"])


def written_by_the_flow(record: dict, update: str) -> dict:
    """The record after the flow's update action (as the integration user)."""
    changed = dict(record, LastModifiedById=INTEGRATION_USER)
    for parameter, value in ACTIONS[update]["inputs"]["parameters"].items():
        if parameter.startswith("item/"):
            written = "0000100042" if isinstance(value, str) and value.startswith("@") else value
            changed[parameter.removeprefix("item/")] = written
    return changed


NEW_CUSTOMER = {
    "Id": "001Dn00000AbCdEIAV",
    "Name": "Acme",
    "Type": "Customer",
    "SAP_Customer_Number__c": None,
    "LastModifiedById": PEOPLE,
}


def test_the_condition_lets_a_new_customer_through():
    assert starts(NEW_CUSTOMER)
    assert starts({**NEW_CUSTOMER, "SAP_Customer_Number__c": ""})


@pytest.mark.parametrize("change", [{"Type": "Prospect"}, {"Type": None}, {"SAP_Customer_Number__c": "0000100042"}])
def test_the_condition_stops_other_accounts(change):
    assert not starts({**NEW_CUSTOMER, **change})


@pytest.mark.parametrize(
    ("customer_types", "account_type", "goes_through"),
    [
        ("Customer", "Customer", True),
        ("Customer", "Customer - Direct", False),
        # The older default Account Type picklist: "Customer - Direct" and "Customer - Channel".
        ("Customer - Direct,Customer - Channel", "Customer - Direct", True),
        ("Customer - Direct,Customer - Channel", "Customer - Channel", True),
        ("Customer - Direct, Customer - Channel", "Customer - Channel", True),
        ("Customer - Direct , Customer - Channel", "Customer - Direct", True),
        ("Customer - Direct,Customer - Channel", "Customer", False),
        ("Customer - Direct,Customer - Channel", "Prospect", False),
        ("Customer - Direct,Customer - Channel", None, False),
        ("Customer - Direct,Customer - Channel", "Direct", False),
    ],
)
def test_the_customer_types_come_from_the_environment_variable(customer_types, account_type, goes_through):
    record = {**NEW_CUSTOMER, "Type": account_type}
    assert starts(record, sapsync_CustomerTypes=customer_types) is goes_through


def test_no_account_type_is_written_into_the_condition():
    assert "'Customer'" not in json.dumps(ACTIONS[CONDITION]["expression"])
    assert '"Customer"' not in json.dumps(ACTIONS[CONDITION]["expression"])


def test_the_create_call_is_inside_the_condition():
    assert CREATE in ACTIONS[CONDITION]["actions"] and CREATE not in DEFINITION["actions"]


@pytest.mark.parametrize("update", ["Update_account_synced", "Update_account_failed", "Update_account_held"])
def test_the_flows_own_write_back_does_not_start_it_again(update):
    assert not starts(written_by_the_flow(NEW_CUSTOMER, update))


def test_the_function_apps_write_back_does_not_start_it_either():
    sent: list[dict] = []
    writer = object.__new__(simple_salesforce.SimpleSalesforceWriteBack)
    writer._update_account = lambda account_id, values: sent.append(values)
    writer.record_created(NEW_CUSTOMER["Id"], "0000100042", datetime.now(UTC))
    writer.record_failed(NEW_CUSTOMER["Id"], "E F2 173: rejected", datetime.now(UTC))
    for values in sent:
        assert not starts({**NEW_CUSTOMER, **values, "LastModifiedById": INTEGRATION_USER})


def test_a_failed_write_back_would_loop_without_the_integration_user_clause():
    """Why the clause is there: after a 422 the number is still empty and the type still Customer."""
    expression = ACTIONS[CONDITION]["expression"]
    without = {"and": [operand for operand in expression["and"] if "not" not in operand]}
    assert starts(written_by_the_flow(NEW_CUSTOMER, "Update_account_failed"), without)


def test_a_person_fixing_a_failed_account_starts_it_again():
    failed = written_by_the_flow(NEW_CUSTOMER, "Update_account_failed")
    assert starts({**failed, "BillingPostalCode": "80331", "LastModifiedById": PEOPLE})


# --- the answers: the asynchronous pattern, and never Synced without a number -------------------------------


def test_the_create_follows_the_asynchronous_pattern_for_longer_than_the_retry_queue_lives():
    create = ACTIONS[CREATE]
    # The engine polls a 202's Location unless DisableAsyncPattern is set (connectors-native-http.md).
    assert "DisableAsyncPattern" not in str(create.get("operationOptions", ""))
    match = re.fullmatch(r"P(\d+)D", create["limit"]["timeout"])
    assert match, create["limit"]
    from shared.settings import RetrySettings

    policy = RetrySettings()
    # The longest a queued create can take by default: every attempt after the longest delay.
    assert int(match.group(1)) * 86400 > policy.max_attempts * policy.max_delay_seconds


SYNCED_WRITERS = [
    name
    for name, action, _ in walk(DEFINITION["actions"])
    if action.get("type") == "OpenApiConnection"
    and action["inputs"].get("parameters", {}).get("item/SAP_Sync_Status__c") == "Synced"
]
STATUS_CODES = [None, 200, 201, 202, 400, 401, 404, 409, 422, 429, 500, 502, 503]
NUMBERS = [None, "", "0000100042"]


def answer(status: int | None, number: str | None) -> dict:
    body = {"accountId": NEW_CUSTOMER["Id"], "status": "created"}
    if number is not None:
        body["customerNumber"] = number
    return {"statusCode": status, "headers": {}, "body": body if status is not None else None}


@pytest.mark.parametrize("write_back", ["flow", "function"])
def test_no_action_writes_synced_where_the_answer_has_no_number(write_back):
    # The change branch's writer writes no number: the account has one (test_the_change_writes_synced_...).
    assert SYNCED_WRITERS == ["Update_account_synced", "Update_account_changed"]
    ancestors_of = {name: ancestors for name, _, ancestors in walk(DEFINITION["actions"])}
    reached_with_a_number = False
    for name in SYNCED_WRITERS[:1]:
        written = ACTIONS[name]["inputs"]["parameters"]["item/SAP_Customer_Number__c"]
        for status in STATUS_CODES:
            for number in NUMBERS:
                state = context(NEW_CUSTOMER, answer(status, number), sapsync_WriteBack=write_back)
                if reachable(ancestors_of[name], state):
                    assert number and state.evaluate(written) == number, (status, number)
                    reached_with_a_number = True
    assert reached_with_a_number is (write_back == "flow")


def test_each_final_answer_reaches_its_own_branch():
    ancestors_of = {name: ancestors for name, _, ancestors in walk(DEFINITION["actions"])}

    def reached(status: int | None, number: str | None = None) -> set[str]:
        state = context(NEW_CUSTOMER, answer(status, number), sapsync_WriteBack="flow")
        return {
            name
            for name in ("Update_account_synced", "Update_account_failed", "Update_account_held", "Notify_problem")
            if reachable(ancestors_of[name], state)
        }

    assert reached(201, "0000100042") == reached(200, "0000100042") == {"Update_account_synced"}
    assert reached(422) == reached(502) == {"Update_account_failed"}
    assert reached(409) == {"Update_account_held"}
    assert reached(202) == reached(400) == reached(None) == reached(201) == {"Notify_problem"}


def test_the_failed_branch_writes_sap_s_reason_from_either_answer():
    written = ACTIONS["Update_account_failed"]["inputs"]["parameters"]["item/SAP_Sync_Error__c"]
    rejected = {"statusCode": 422, "body": {"reason": "SAP rejected: E F2 173: no region"}}
    failed = {"statusCode": 502, "body": {"message": "SAP error: ABAP runtime error"}}
    assert context(NEW_CUSTOMER, rejected).evaluate(written) == "SAP rejected: E F2 173: no region"
    assert context(NEW_CUSTOMER, failed).evaluate(written) == "SAP error: ABAP runtime error"
    long = {"statusCode": 422, "body": {"reason": "x" * 400}}
    assert len(context(NEW_CUSTOMER, long).evaluate(written)) == 255


# --- the connector reference: the form Power Platform gives a custom connector's API ---------------------------


def connector_name_module():
    spec = importlib.util.spec_from_file_location("connector_name", ROOT / "flow" / "connector_name.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_custom_connector_reference_has_the_api_name_form_of_published_exports():
    module = connector_name_module()
    name = FLOW["properties"]["connectionReferences"]["shared_sapcustomersync"]["api"]["name"]
    assert module.API_NAME.fullmatch(name), name
    # The solution component name (sapsync_5Fsap-20customer-20sync) is not what a connection reference names.
    assert name.startswith("shared_sapsync-5fsap-20customer-20sync-5f")
    assert module.API_NAME.fullmatch("shared_admin-5foffice-20365-20management-20api-5f218397e7aabcdef") is None
    assert module.API_NAME.fullmatch("sapsync_5Fsap-20customer-20sync") is None


def test_the_connector_name_script_writes_the_environments_name_into_both_files(tmp_path, monkeypatch):
    module = connector_name_module()
    copy = tmp_path / "solution"
    shutil.copytree(SOLUTION, copy)
    monkeypatch.setattr(module, "SOLUTION", copy)
    monkeypatch.setattr(module, "CUSTOMIZATIONS", copy / "Other" / "Customizations.xml")
    assert module.main(["--check"]) == 1  # the placeholder: an import would not find the connector
    with pytest.raises(ValueError):
        module.set_name("sapsync_5Fsap-20customer-20sync")
    name = "shared_sapsync-5fsap-20customer-20sync-5f55ff5bc0051fd172"
    assert module.main([f"/providers/Microsoft.PowerApps/apis/{name}"]) == 0
    assert module.main(["--check"]) == 0
    flow = json.loads(module.workflow_file().read_text(encoding="utf-8"))
    assert flow["properties"]["connectionReferences"]["shared_sapcustomersync"]["api"]["name"] == name
    apis = {
        action["inputs"]["host"]["apiId"]
        for _, action, _ in walk(flow["properties"]["definition"]["actions"])
        if action.get("type") == "OpenApiConnection"
        and action["inputs"]["host"]["connectionName"] == "shared_sapcustomersync"
    }
    assert apis == {f"/providers/Microsoft.PowerApps/apis/{name}"}
    customizations = ElementTree.parse(copy / "Other" / "Customizations.xml").getroot()
    assert f"/providers/Microsoft.PowerApps/apis/{name}" in {
        ref.findtext("connectorid") for ref in customizations.iter("connectionreference")
    }
    assert (SOLUTION / "Other" / "Customizations.xml").read_text(encoding="utf-8").count("-5fSUFFIX") == 1


# --- the change branch (issue 26): a synced account's changes go to ChangeSAPCustomer ---------------------------


SYNCED = {
    **NEW_CUSTOMER,
    "SAP_Customer_Number__c": "0000100042",
    "SAP_Sync_Status__c": "Synced",
    "BillingStreet": "Karlsplatz 2",
    "SystemModstamp": "2026-12-07T14:03:11.000Z",
}


def changes(record: dict, **changes: str) -> bool:
    return context(record, **changes).holds(ACTIONS[CHANGE_CONDITION]["expression"])


def test_a_persons_save_of_a_synced_account_goes_to_the_change_and_never_to_the_create():
    assert changes(SYNCED) and not starts(SYNCED)
    assert changes({**SYNCED, "Type": "Prospect"})  # a synced account stays synced whatever its type now


@pytest.mark.parametrize("record", [NEW_CUSTOMER, {**NEW_CUSTOMER, "SAP_Customer_Number__c": ""}])
def test_an_account_without_a_number_is_the_creates_not_the_changes(record):
    assert starts(record) and not changes(record)


def test_the_integration_users_save_and_the_push_path_send_no_change():
    assert not changes({**SYNCED, "LastModifiedById": INTEGRATION_USER})
    assert not changes(SYNCED, sapsync_Trigger="push")


@pytest.mark.parametrize(
    "update",
    [
        "Update_account_synced",
        "Update_account_failed",
        "Update_account_held",
        "Update_account_changed",
        "Update_account_change_failed",
        "Update_account_change_held",
    ],
)
def test_no_write_back_of_the_flow_starts_a_change_or_a_create(update):
    written = written_by_the_flow(SYNCED, update)
    assert not changes(written) and not starts(written)


def test_the_change_passes_the_creates_fields_the_account_id_in_the_path_and_the_system_modstamp():
    create = ACTIONS[CREATE]["inputs"]["parameters"]
    change = ACTIONS[CHANGE]["inputs"]["parameters"]
    assert change["accountId"] == create["body/accountId"] == "@triggerOutputs()?['body/Id']"
    assert {k: v for k, v in change.items() if k not in ("accountId", "body/systemModstamp")} == {
        k: v for k, v in create.items() if k != "body/accountId"
    }
    assert change["body/systemModstamp"] == "@triggerOutputs()?['body/SystemModstamp']"


def test_the_change_answer_is_final_without_polling():
    # A 202 of the change carries no Location (the swagger's ChangeSAPCustomer); the asynchronous pattern is off so
    # the engine takes it as the answer (connectors-native-http.md, DisableAsyncPattern).
    assert "DisableAsyncPattern" in ACTIONS[CHANGE]["operationOptions"]
    assert "Location" not in swagger_operations()["ChangeSAPCustomer"]["responses"]["202"]["headers"]
    after = ACTIONS["Change_applied"]["runAfter"][CHANGE]
    assert {"Succeeded", "Failed", "TimedOut"} <= set(after)


def test_the_change_branches_are_answers_the_swagger_declares():
    codes = {int(code) for code in re.findall(rf"\"@outputs\('{CHANGE}'\)\?\['statusCode'\]\",\s*(\d+)", flow_text())}
    assert codes == {200, 202, 409, 422}
    assert {str(code) for code in codes} <= set(swagger_operations()["ChangeSAPCustomer"]["responses"])


def change_answer(status: int | None, change: str | None = None, **body: object) -> dict:
    return {
        "statusCode": status,
        "headers": {},
        "body": None if status is None else {"accountId": SYNCED["Id"], "change": change, **body},
    }


@pytest.mark.parametrize(
    ("record", "answer", "reached"),
    [
        (SYNCED, change_answer(200, "applied", changedFields=["street"]), {"Update_account_changed"}),
        (SYNCED, change_answer(200, "unchanged"), set()),
        (SYNCED, change_answer(200, "stale"), set()),
        ({**SYNCED, "SAP_Sync_Status__c": "Failed"}, change_answer(200, "unchanged"), {"Update_account_changed"}),
        (SYNCED, change_answer(202, "queued"), set()),
        (SYNCED, change_answer(202, "folded"), set()),
        (SYNCED, change_answer(422, "rejected", reason="SAP rejected: E F2 173: x"), {"Update_account_change_failed"}),
        (SYNCED, change_answer(409, "needs_review", message="held"), {"Update_account_change_held"}),
        (SYNCED, change_answer(404, "not_synced"), {"Notify_change_problem"}),
        (SYNCED, change_answer(400), {"Notify_change_problem"}),
        (SYNCED, change_answer(503), {"Notify_change_problem"}),
        (SYNCED, change_answer(None), {"Notify_change_problem"}),
    ],
)
def test_each_change_answer_reaches_its_own_branch(record, answer, reached):
    ancestors_of = {name: ancestors for name, _, ancestors in walk(DEFINITION["actions"])}
    state = Context(parameters(sapsync_WriteBack="flow"), {"body": record, "headers": {}}, {CHANGE: answer})
    candidates = (
        "Update_account_changed",
        "Update_account_change_failed",
        "Update_account_change_held",
        "Notify_change_problem",
    )
    assert {name for name in candidates if reachable(ancestors_of[name], state)} == reached


def test_the_change_writes_synced_only_on_an_account_with_a_number_and_never_writes_one():
    changed = ACTIONS["Update_account_changed"]["inputs"]["parameters"]
    assert "item/SAP_Customer_Number__c" not in changed
    ancestors = {name: ancestors for name, _, ancestors in walk(DEFINITION["actions"])}["Update_account_changed"]
    assert CHANGE_CONDITION in {name for name, _, _ in ancestors}
    assert not reachable(
        ancestors,
        Context(
            parameters(sapsync_WriteBack="flow"),
            {"body": NEW_CUSTOMER, "headers": {}},
            {CHANGE: change_answer(200, "applied")},
        ),
    )
