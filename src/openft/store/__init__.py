"""The store: tables, keyword-only functions over a Session, migrations and the job state machine.

The database is the single source of truth: job status, events, checkpoints and models are rows.
"""
