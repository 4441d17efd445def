"""The app settings the function app declares (shared/settings/declarations.py) are exactly those infra/
provisions, apart from the settings declared local only or as another process's, and those listed with their
reason in tests/infra/settings_parity.py (NOT_PROVISIONED, HOST_ONLY)."""

from __future__ import annotations

import textwrap

from shared.settings import DECLARATIONS, DECLARED
from shared.settings.declarations import Reader
from tests.infra.settings_parity import (
    HOST_ONLY,
    NOT_PROVISIONED,
    CodeSettings,
    bicep_settings,
)

# The function app's settings as declared: what it reads in Azure (local-only ones are refused there).
APP_SETTINGS = {setting.name for setting in DECLARATIONS if setting.reader is Reader.APP and not setting.local_only}


def test_every_setting_the_code_reads_is_provisioned_in_bicep():
    provisioned = {setting.name for setting in bicep_settings()}
    missing = sorted(APP_SETTINGS - provisioned - set(NOT_PROVISIONED))
    assert not missing, "\n".join(
        f"{name}: declared in shared/settings/declarations.py but not provisioned: add one line "
        f"`{name}: ...` to an app-settings object (commonSettings or the variant's) in infra/main.bicep, or "
        f"list it in NOT_PROVISIONED in tests/infra/settings_parity.py with the reason"
        for name in missing
    )


def test_every_setting_bicep_provisions_is_read_by_the_code_or_the_host():
    provisioned = {setting.name: setting for setting in bicep_settings()}
    unread = sorted(set(provisioned) - APP_SETTINGS - set(HOST_ONLY))
    assert not unread, "\n".join(
        f"{name}: provisioned in {provisioned[name].file} ({provisioned[name].variable}) but not a declared "
        f"setting of the function app (shared/settings/declarations.py): remove it, or list it in HOST_ONLY in "
        f"tests/infra/settings_parity.py with the reason"
        for name in unread
    )


def test_no_local_only_or_other_process_setting_is_provisioned():
    provisioned = {setting.name for setting in bicep_settings()}
    wrong = sorted(
        name
        for name in provisioned & set(DECLARED)
        if DECLARED[name].local_only or DECLARED[name].reader is not Reader.APP
    )
    assert wrong == [], f"provisioned in Azure but declared local only or another process's: {wrong}"


def test_the_exception_lists_hold_no_stale_entry():
    provisioned = {setting.name for setting in bicep_settings()}
    stale = sorted(name for name in NOT_PROVISIONED if name not in APP_SETTINGS or name in provisioned)
    stale += sorted(name for name in HOST_ONLY if name not in provisioned or name in DECLARED)
    assert not stale, f"entries in tests/infra/settings_parity.py that no longer hold: {stale}"


def test_no_setting_is_provisioned_twice_with_different_sources():
    seen: dict[str, set[str]] = {}
    for setting in bicep_settings():
        seen.setdefault(setting.name, set()).add(setting.file)
    assert all(len(files) == 1 for files in seen.values()), {n: f for n, f in seen.items() if len(f) > 1}


# --- the extractor itself, on small modules ---


def _extract(tmp_path, source: str) -> CodeSettings:
    module = tmp_path / "module.py"
    module.write_text(textwrap.dedent(source))
    return CodeSettings([module], root=tmp_path)


def test_the_extractor_finds_literal_reads_helpers_loops_and_f_strings(tmp_path):
    code = _extract(
        tmp_path,
        """
        import os
        PREFIX = "Storage"
        MARKERS = ("SITE_A", "SITE_B")
        LOGON = {"SAP_X": "x", "SAP_Y": "y"}

        def _text(env, name):
            return env.get(name)

        def _identity(env, name):
            return env.get(f"{PREFIX}__{name}")

        def uri(service, environ=None):
            env = os.environ if environ is None else environ
            return _identity(env, f"{service}Uri")

        def load(env):
            uri("table", env)
            uri("queue", env)
            _text(env, "NEW_SETTING")
            {p: _text(env, s) for s, p in LOGON.items()}
            any(env.get(m) for m in MARKERS)
            os.environ["DIRECT"]
            return os.getenv("VIA_GETENV"), "%BOUND_IN_TRIGGER%"
    """,
    )
    assert set(code.names) == {
        "NEW_SETTING",
        "SAP_X",
        "SAP_Y",
        "SITE_A",
        "SITE_B",
        "DIRECT",
        "VIA_GETENV",
        "Storage__tableUri",
        "Storage__queueUri",
        "BOUND_IN_TRIGGER",
    }
    assert not code.unresolved


def test_the_extractor_reports_a_read_it_cannot_resolve(tmp_path):
    code = _extract(
        tmp_path,
        """
        def load(env, names):
            return [env.get(name.upper()) for name in names]
    """,
    )
    assert [u.expression for u in code.unresolved] == ["name.upper()"]
