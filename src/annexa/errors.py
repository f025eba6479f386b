"""Exceptions, one base per layer, each with a message a person can act on."""

from __future__ import annotations


class AnnexaError(Exception):
    """Base of every error annexa reports instead of a traceback."""


class InputError(AnnexaError):
    """A policy, rule, config or settings file is invalid; names the file, line and field (exit 2)."""

    def __init__(self, path: str, line: int | None, field: str, message: str) -> None:
        self.path = path
        self.line = line
        self.field = field
        self.detail = message
        where = f"{path}:{line}" if line else path
        super().__init__(f"{where}: {field}: {message}" if field else f"{where}: {message}")


class InputErrors(AnnexaError):
    """Several input errors found together, so a user can fix them all at once."""

    def __init__(self, errors: list[InputError]) -> None:
        self.errors = errors
        super().__init__("\n".join(str(e) for e in errors))


class CollectError(AnnexaError):
    """Facts could not be collected at all (not a git checkout, unknown --base, ...)."""


class UnreadableFile(AnnexaError):
    """A file of the checkout that cannot be read for the reason given."""

    def __init__(self, path: str, reason: str) -> None:
        self.path = path
        self.reason = reason
        super().__init__(f"{path}: {reason}")
