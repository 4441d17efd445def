"""Where the storage adapters connect, read from the settings alone (nothing is called): the Azurite
shortcut, identity-based connections, a missing connection."""

from __future__ import annotations

import pytest
from azure.identity import ManagedIdentityCredential

from shared.settings import Settings, SettingsError, load_settings
from shared.storage.clients import queue_service_client, table_service_client
from shared.storage.table_ledger import table_ledger_from_settings


def test_use_development_storage_shortcut_means_azurites_default_endpoint(unique_name):
    # The tests' own Azurite runs on free ports, so this checks where the shortcut points, not a call.
    ledger = table_ledger_from_settings(
        Settings(storage_connection="UseDevelopmentStorage=true", ledger_table_name=unique_name)
    )

    assert ledger._table.url.startswith("http://127.0.0.1:10002/devstoreaccount1")


def test_identity_based_connection_from_the_account_name():
    environ = {
        "AzureWebJobsStorage__accountName": "sapsyncstore",
        "AzureWebJobsStorage__credential": "managedidentity",
        "AzureWebJobsStorage__clientId": "00000000-0000-0000-0000-000000000001",
    }

    tables = table_service_client(load_settings(environ, sap_required=False))
    queues = queue_service_client(load_settings(environ, sap_required=False))

    assert tables.url.startswith("https://sapsyncstore.table.core.windows.net")
    assert queues.url.startswith("https://sapsyncstore.queue.core.windows.net")
    assert isinstance(tables.credential, ManagedIdentityCredential)
    assert queues.credential is tables.credential


def test_identity_based_connection_with_explicit_service_uri():
    environ = {"AzureWebJobsStorage__tableServiceUri": "https://ledger.table.example.net"}

    assert table_service_client(load_settings(environ, sap_required=False)).url.startswith(
        "https://ledger.table.example.net"
    )


def test_no_storage_connection_is_a_settings_error():
    with pytest.raises(SettingsError, match="AzureWebJobsStorage"):
        table_ledger_from_settings(load_settings({}, sap_required=False))
