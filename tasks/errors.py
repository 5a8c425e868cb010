"""Errors that reach the user as a one-line message and an exit status, never a stack trace."""

from __future__ import annotations


class FlywheelError(Exception):
    """The work failed (exit status 1). The message names the thing at fault."""

    exit_code = 1


class UsageError(FlywheelError):
    """Bad usage or bad input: unknown prompt, malformed file given explicitly (exit status 2)."""

    exit_code = 2


class DatabaseBusyError(FlywheelError):
    """Another process holds the DuckDB file's write lock for longer than we may wait."""


class SchemaVersionError(FlywheelError):
    """The DuckDB file was written by a newer flywheel than this one."""
