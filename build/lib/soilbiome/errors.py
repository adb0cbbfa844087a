"""One exception hierarchy for soilbiome; the CLI turns each into a one-line message.

Every error carries an exit code so that shell users and Nextflow see a non-zero status
whose meaning is stable.
"""

from __future__ import annotations


class SoilbiomeError(Exception):
    """Base class of every error soilbiome reports to a user."""

    exit_code = 1

    def __init__(self, message: str, *, location: str | None = None) -> None:
        self.location = location
        super().__init__(f"{location}: {message}" if location else message)


class InputError(SoilbiomeError):
    """A user-supplied file or value is wrong (missing, malformed, inconsistent)."""

    exit_code = 2


class OutputError(InputError):
    """An output file or folder cannot be created or written (missing, read-only, full)."""


class SamplesheetError(InputError):
    """One or more samplesheet rows are invalid; ``problems`` lists each of them."""

    def __init__(self, path: str, problems: list[str]) -> None:
        self.problems = list(problems)
        head = f"{len(problems)} problem(s) in samplesheet {path}"
        super().__init__(head + ":\n  " + "\n  ".join(problems))


class FastqError(InputError):
    """A FASTQ file is corrupt, truncated, or inconsistent with its mate."""


class ToolError(SoilbiomeError):
    """An external tool (Nextflow, cutadapt, DADA2, ...) failed."""

    exit_code = 3


class DownloadError(ToolError):
    """A download failed: the server could not be reached or answered an error, the transfer
    broke off (what arrived is kept to resume), or the file is not the one expected."""
