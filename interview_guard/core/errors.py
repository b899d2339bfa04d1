"""Errors that reach the user as one clear line.

Every error the user can cause (bad file, missing device, tampered model) is an
``IGError`` whose ``str()`` is a complete sentence with a hint how to fix it. The CLI
prints it without a traceback and exits with code 2.
"""

from __future__ import annotations


class IGError(Exception):
    """Base class: a user-facing problem with a plain-language message."""

    exit_code = 2

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        self.message = message
        self.hint = hint
        super().__init__(message if not hint else f"{message} ({hint})")


class ModelError(IGError):
    """A model file is missing, empty, tampered with (sha256) or has the wrong I/O."""


class SourceError(IGError):
    """A capture source cannot be opened or read (file, window, device)."""


class InputError(IGError):
    """A recording is unreadable, truncated, or lacks the needed track."""


class ConfigError(IGError):
    """An invalid setting or command-line option."""
