"""The one error a missing or malformed setting raises, wherever it is found: by the settings module when
it reads the environment, or by an adapter when the values it was handed cannot work together (a
storage connection with neither a connection string nor endpoints). Its own module, below the settings
and the adapters, so an adapter can raise it without importing the settings (pyproject.toml,
"adapters receive their settings"); shared.settings re-exports it."""

from __future__ import annotations


class SettingsError(ValueError):
    """A setting is missing or malformed; the message names it and says what is expected."""

    kind = "misconfigured"  # the moves and labels of every error root: shared/sap/errors.py's table
    label = "configuration problem"
