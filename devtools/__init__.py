"""Developer tooling (local emulators, helpers for scripts/); never imported by the function app."""
