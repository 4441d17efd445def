"""Thin triggers, one blueprint per feature: parse the request, call shared/, shape the response."""
