"""Plain pydantic messages that cross the Temporal boundary, one module per workflow.

Workflows import these (never the SQLModel tables), so nothing here may do I/O. Only ids,
times and outcomes travel through Temporal history: post bodies and tokens are read by
activities from the database, so they never sit in history.
"""
