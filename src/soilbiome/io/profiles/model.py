"""The standard profile: what every profiler reader returns, whatever the tool.

In the spirit of taxpasta's *standard profile* (one validated two-column table of taxon ID and
count for every supported profiler), a :class:`Profile` is one sample's values per taxon ID,
plus what the tool could not assign. Readers only parse and validate their own format; turning
taxon IDs into lineages and a BIOM table is done once, elsewhere
(:mod:`soilbiome.shotgun.table`).
"""

from __future__ import annotations

import gzip
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from soilbiome.errors import InputError
from soilbiome.io.gunzip import is_gzip
from soilbiome.io.textfile import LineTooLong, bounded_lines
from soilbiome.model.table import COUNTS, MAX_VALUE, RELATIVE

__all__ = ["COUNTS", "RELATIVE", "Profile", "ProfileError", "open_text", "numbered_lines"]


class ProfileError(InputError):
    """A profiler output file is malformed or inconsistent (file and line in the message)."""

    def __init__(self, path: str | Path, line: int | None, problem: str) -> None:
        self.path, self.line, self.problem = str(path), line, problem
        where = f"{path}: line {line}" if line is not None else str(path)
        super().__init__(problem, location=where)


@dataclass
class Profile:
    """One sample's profile.

    Attributes
    ----------
    sample : str
        Sample ID (from the file name unless given).
    profiler : str
        Tool that made it (``kraken2``, ``metaphlan`` ...).
    path : Path
        Source file.
    values : dict
        ``taxon ID -> value`` *directly* at that taxon (not cumulative over its clade): read
        counts, or relative abundances (fractions of 1) when ``value_kind`` is relative.
    unclassified : float
        Reads (or the fraction) the tool left unassigned; 0 when the tool does not report them.
    unassigned : float
        What the file holds but places on no taxon, kept as the explicit feature
        ``unassigned``: in a relative profile the share of 1 it places nowhere (1 minus
        everything it lists, instead of scaling the other taxa up, see
        :func:`relative_remainder`); in Kaiju's table the reads classified above its rank.
    value_kind : str
        :data:`COUNTS` or :data:`RELATIVE`.
    names : dict
        ``taxon ID -> name`` as written in the file, where the format carries names.
    lineages : dict
        ``taxon ID -> {rank: name}`` where the file itself gives ranks (Kraken-style rank
        codes, MetaPhlAn clade names); used for taxa missing from the ``--taxonomy`` dump.
    genome_lineages : dict
        ``genome -> prefixed lineage`` (``d__...;s__...``) where a genome profile gives them
        (sylph-tax files); used for genomes missing from the ``--taxonomy`` lineage file.
    """

    sample: str
    profiler: str
    path: Path
    values: dict[str, float] = field(default_factory=dict)
    unclassified: float = 0.0
    unassigned: float = 0.0
    value_kind: str = COUNTS
    names: dict[str, str] = field(default_factory=dict)
    lineages: dict[str, dict[str, str]] = field(default_factory=dict)
    genome_lineages: dict[str, str] = field(default_factory=dict)

    def add(self, taxid: str, value: float) -> None:
        """Add ``value`` to ``taxid`` (rows of one taxon are summed)."""
        self.values[taxid] = self.values.get(taxid, 0.0) + value

    @property
    def total(self) -> float:
        """Everything the file holds: classified, unclassified and unassigned."""
        return sum(self.values.values()) + self.unclassified + self.unassigned


#: A relative profile's values may add up to more than 1 by at most this much (its printed
#: decimals rounded); a remainder below 1 of more than :data:`FLOAT_NOISE` is kept as the
#: feature ``unassigned``, so no taxon is ever scaled up to make a sample add up to 1.
RELATIVE_ROUNDING = 0.01
#: Differences from 1 below this are floating-point arithmetic, not a remainder.
FLOAT_NOISE = 1e-9


def relative_remainder(path: Path, listed: float) -> float:
    """The unassigned share of a relative profile whose values add up to ``listed`` (fractions
    of 1): ``1 - listed``, 0 for float noise or an overshoot within
    :data:`RELATIVE_ROUNDING`; a larger overshoot is refused."""
    remainder = 1.0 - listed
    if remainder < -RELATIVE_ROUNDING:
        raise ProfileError(path, None, f"abundances add up to {100 * listed:g}%, more than "
                           f"100% (+{100 * RELATIVE_ROUNDING:g} points for rounding)")
    return remainder if remainder > FLOAT_NOISE else 0.0


def open_text(path: Path):  # noqa: ANN201 - a text handle
    """Open a plain or gzip-compressed text file."""
    if is_gzip(path):
        return gzip.open(path, "rt", encoding="utf-8", newline="")
    return path.open(encoding="utf-8", newline="")


def numbered_lines(path: Path) -> Iterator[tuple[int, str]]:
    """Yield ``(line number, line without its newline)`` of a (gzipped) text file.

    Every profiler reader reads through here: a line longer than
    :data:`~soilbiome.io.textfile.MAX_LINE_CHARS` is refused naming the file and line, after
    reading at most that much of it.
    """
    try:
        with open_text(path) as handle:
            yield from bounded_lines(handle)
    except LineTooLong as exc:
        raise ProfileError(path, exc.number, f"longer than {exc.limit} characters: not a "
                           "profiler table (a corrupt or wrong file)") from None
    except UnicodeDecodeError as exc:
        raise ProfileError(path, None, f"not a text file ({exc.reason})") from None
    except (OSError, EOFError) as exc:
        raise ProfileError(path, None, f"cannot be read: {exc}") from None


def parse_number(path: Path, line: int, column: str, text: str, *, integer: bool = False,
                 allow_negative: bool = False) -> float:
    """Parse one numeric field or raise a :class:`ProfileError` naming the column.

    Values must be finite and at most :data:`~soilbiome.model.table.MAX_VALUE` (1e12) in size:
    no profiler reports more reads for one taxon in one sample (a whole sequencing run gives
    ~1e10), so a larger number is a corrupt or mistyped file, refused here with its line
    instead of overflowing later in ``diversity``.
    """
    try:
        value = float(text)
    except ValueError:
        raise ProfileError(path, line, f"column '{column}': '{text}' is not a number") from None
    if value != value or value in (float("inf"), float("-inf")):
        raise ProfileError(path, line, f"column '{column}': '{text}' is not a finite number")
    if abs(value) > MAX_VALUE:
        raise ProfileError(path, line, f"column '{column}': {text} exceeds {MAX_VALUE:.0e}, "
                           "more than any sequencing run gives (a corrupt or mistyped file)")
    if not allow_negative and value < 0:
        raise ProfileError(path, line, f"column '{column}': negative value {text}")
    if integer and value != int(value):
        raise ProfileError(path, line, f"column '{column}': '{text}' is not a whole read count")
    return value


def parse_taxid(path: Path, line: int, column: str, text: str) -> str:
    """A taxon ID: a non-negative integer written without sign or decimals."""
    text = text.strip()
    if not text.isdigit():
        raise ProfileError(path, line, f"column '{column}': '{text}' is not a taxon ID")
    return str(int(text))
