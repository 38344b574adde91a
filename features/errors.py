"""Errors a user can cause.

Every error that bad input, a bad config or a bad command line can cause is a
``HarmrankError`` subclass whose message says what is wrong and what would be
valid. The command line prints the message without a traceback; any other
exception is a bug and keeps its traceback.
"""

from __future__ import annotations


class HarmrankError(Exception):
    """Base class for errors caused by the user's input, config or command."""


class ConfigError(HarmrankError):
    """A configuration file is missing, unreadable, or holds a bad key or value."""


class RecordsError(HarmrankError):
    """A records file is missing or unreadable, or a table breaks the data contract."""


class TooManyBadRows(RecordsError):
    """More rows of a table were quarantined than the configured ceiling allows.

    ``report`` holds the validation report up to the failing table, so that the rows
    already quarantined can still be written for the analyst to inspect.
    """

    def __init__(self, message: str, report: object | None = None) -> None:
        super().__init__(message)
        self.report = report


class PipelineError(HarmrankError):
    """The monthly job cannot proceed with the records and config it was given."""
