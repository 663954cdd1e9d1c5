"""The HTTP API: one router per resource. No SQL and no torch in here."""
