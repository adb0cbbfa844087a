"""Errors raised by :mod:`soilbiome.sharing`; all are :class:`~soilbiome.errors.InputError`."""

from __future__ import annotations

from soilbiome.errors import InputError


class SharingError(InputError):
    """Base class of sharing errors (bad agreement, request, key, or stamped file)."""


class AgreementError(SharingError):
    """An agreement (or request) file is unreadable or violates the schema.

    Parameters
    ----------
    path : str
        The file that was read.
    problems : list of tuple of (str, str)
        ``(field path, message)`` pairs, e.g. ``("license.spdx", "unknown SPDX id 'X'")``.
    kind : str
        ``"agreement"`` or ``"request"``, used in the message.
    """

    def __init__(self, path: str, problems: list[tuple[str, str]], kind: str = "agreement"):
        self.path = path
        self.problems = list(problems)
        lines = [f"{field}: {msg}" for field, msg in self.problems]
        head = f"{len(lines)} problem(s) in {kind} {path}"
        super().__init__(head + ":\n  " + "\n  ".join(lines))


class RequestError(AgreementError):
    """A data-use request file is unreadable or violates the request schema."""

    def __init__(self, path: str, problems: list[tuple[str, str]]):
        super().__init__(path, problems, kind="request")


class SigningKeyError(SharingError):
    """A signing key is missing, unreadable, too widely readable, or not trusted."""


class StampError(SharingError):
    """A BIOM file cannot be stamped, or its stamp cannot be read."""
