"""The samplesheet contract: one row per sample, reads plus MIxS soil metadata.

A samplesheet is a CSV with the columns ``sample``, ``fastq_1``, ``fastq_2`` (empty for
single-end), optional ``site``, ``run`` (sequencing run: one DADA2 error model each) and
``sample_type`` (``sample``, ``negative_control``, ``positive_control``), the MIxS fields listed
in :data:`MIXS_REQUIRED` and optional soil measurements (:mod:`soilbiome.model.soil`). Any
further column is kept as sample metadata. Relative read paths are resolved against the
samplesheet's own folder.

Validation collects *every* problem, each naming the line, the sample and the column, so a user
fixes the sheet in one pass. Nothing is written unless the whole sheet is valid.
"""

from __future__ import annotations

import csv
import datetime as dt
import re
from dataclasses import dataclass, field
from pathlib import Path

from soilbiome.errors import SamplesheetError
from soilbiome.io.atomic import atomic_write
from soilbiome.io.textfile import formula_problem, read_csv_text
from soilbiome.model import soil

#: MIxS soil fields (MIxS 6/7 ``MimarksSSoil`` / ``MimsSoil`` core + soil package) that every
#: row must carry. INSDC missing-value terms are accepted where a value cannot be known.
MIXS_REQUIRED: tuple[str, ...] = (
    "collection_date",
    "geo_loc_name",
    "lat_lon",
    "env_broad_scale",
    "env_local_scale",
    "env_medium",
    "depth",
    "elev",
)
READ_COLUMNS: tuple[str, ...] = ("sample", "fastq_1", "fastq_2")
OPTIONAL_COLUMNS: tuple[str, ...] = ("site", "run", "sample_type")

#: ``sample_type`` of a negative control (extraction / PCR blank): used to flag contaminants.
NEGATIVE_CONTROL = "negative_control"
#: Values of the optional ``sample_type`` column (empty = ``sample``).
SAMPLE_TYPES = frozenset({"sample", NEGATIVE_CONTROL, "positive_control"})

#: INSDC controlled vocabulary for values that are missing for a stated reason.
INSDC_MISSING = frozenset(
    {
        "missing",
        "not applicable",
        "not collected",
        "not provided",
        "restricted access",
        "missing: control sample",
        "missing: sample group",
        "missing: synthetic construct",
        "missing: lab stock",
        "missing: third party data",
        "missing: data agreement established pre-2023",
        "missing: endangered species",
        "missing: human-identifiable",
    }
)

#: A sample ID names the sample's files in every folder of a run (``<id>.fastp.json``,
#: ``<id>.kraken2.report.txt``, ...) and is passed to tools as an argument: so it starts with a
#: letter or digit (never ``.``, ``..``, ``-``), holds no path separator, space, quote or control
#: character, and fits in a file name with the suffixes the pipeline adds.
SAMPLE_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,127}")
SAMPLE_ID_MAX = 128
FASTQ_SUFFIX = re.compile(r"\.(fastq|fq)(\.gz)?$")
LAT_LON = re.compile(r"^(\d{1,2}(?:\.\d+)?) ([NS]) (\d{1,3}(?:\.\d+)?) ([EW])$")
ENV_TERM = re.compile(r"^\S.*\S \[[A-Za-z]{2,}:\d+\]$")
GEO_LOC = re.compile(r"^[^:]+(?::\s*\S.*)?$")
QUANTITY = re.compile(r"^-?\d+(?:\.\d+)?(?:\s*-\s*-?\d+(?:\.\d+)?)?(?:\s*(m|cm|mm))?$")
DATE_FORMATS = (
    (re.compile(r"^\d{4}$"), "%Y"),
    (re.compile(r"^\d{4}-\d{2}$"), "%Y-%m"),
    (re.compile(r"^\d{4}-\d{2}-\d{2}$"), "%Y-%m-%d"),
)


@dataclass(frozen=True)
class SampleRow:
    """One validated samplesheet row.

    Attributes
    ----------
    sample : str
        Sample identifier, unique within the sheet.
    fastq_1, fastq_2 : Path, Path or None
        Absolute read paths; ``fastq_2`` is None for single-end reads.
    metadata : dict
        Every other column (site, run, MIxS fields, extra columns), as given.
    """

    sample: str
    fastq_1: Path
    fastq_2: Path | None
    metadata: dict[str, str] = field(default_factory=dict)

    @property
    def single_end(self) -> bool:
        """True when the sample has one read file."""
        return self.fastq_2 is None


@dataclass(frozen=True)
class Samplesheet:
    """A validated samplesheet: rows in file order and the column order of the source."""

    path: Path
    rows: tuple[SampleRow, ...]
    metadata_columns: tuple[str, ...]

    def write_normalised(self, out: Path) -> None:
        """Write the sheet with absolute paths and a ``single_end`` column (temp file + rename)."""
        header = ["sample", "fastq_1", "fastq_2", "single_end", *self.metadata_columns]
        with atomic_write(out) as handle:
            writer = csv.writer(handle)
            writer.writerow(header)
            for row in self.rows:
                writer.writerow(
                    [
                        row.sample,
                        str(row.fastq_1),
                        str(row.fastq_2) if row.fastq_2 else "",
                        "true" if row.single_end else "false",
                        *(row.metadata.get(c, "") for c in self.metadata_columns),
                    ]
                )


def _is_missing(value: str) -> bool:
    return value.strip().lower() in INSDC_MISSING


def check_collection_date(value: str, today: dt.date | None = None) -> str | None:
    """Return a problem with an ISO 8601 collection date, or None when it is valid."""
    today = today or dt.date.today()
    text = value.strip()
    parsed: dt.date | None = None
    for pattern, fmt in DATE_FORMATS:
        if pattern.match(text):
            try:
                parsed = dt.datetime.strptime(text, fmt).date()
            except ValueError:
                return f"'{value}' is not a real calendar date"
            break
    else:
        try:
            parsed = dt.datetime.fromisoformat(text.replace("Z", "+00:00")).date()
        except ValueError:
            return f"'{value}' is not an ISO 8601 date (YYYY, YYYY-MM, YYYY-MM-DD or date-time)"
    if parsed > today:
        return f"'{value}' is in the future"
    return None


def check_lat_lon(value: str) -> str | None:
    """Return a problem with a MIxS ``lat_lon`` value (``'50.58 N 6.40 E'``), or None."""
    match = LAT_LON.match(value.strip())
    if not match:
        return f"'{value}' is not MIxS lat_lon 'DD.DDDD N|S DDD.DDDD E|W' (e.g. '23.31 S 69.85 W')"
    lat, lon = float(match.group(1)), float(match.group(3))
    if lat > 90:
        return f"latitude {lat} is beyond 90"
    if lon > 180:
        return f"longitude {lon} is beyond 180"
    return None


def _check_value(column: str, value: str) -> str | None:
    if column == "collection_date":
        return check_collection_date(value)
    if column == "lat_lon":
        return check_lat_lon(value)
    if column.startswith("env_"):
        if not ENV_TERM.match(value.strip()):
            return f"'{value}' is not 'term label [ENVO:00000000]'"
        return None
    if column == "geo_loc_name":
        return None if GEO_LOC.match(value.strip()) else f"'{value}' is not 'country: region'"
    if column in ("depth", "elev"):
        if not QUANTITY.match(value.strip()):
            return f"'{value}' is not a number or range with an optional unit (m, cm)"
    return None


def _resolve(base: Path, raw: str) -> Path:
    path = Path(raw.strip())
    return path if path.is_absolute() else (base / path).resolve()


def _shown(text: str, limit: int = 60) -> str:
    """``text`` for a one-line message: control characters escaped, long text shortened."""
    shown = "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)
    return shown if len(shown) <= limit else shown[:limit] + "..."


def _sample_id_problem(sample: str) -> str:
    """Why ``sample`` is not a valid sample ID (it becomes file names: see :data:`SAMPLE_ID`)."""
    if len(sample) > SAMPLE_ID_MAX:
        return (f"sample ID is {len(sample)} characters long; at most {SAMPLE_ID_MAX} (it "
                "becomes file names)")
    if not sample[0].isascii() or not sample[0].isalnum():
        return (f"'{_shown(sample)}' must start with a letter or digit (not '{_shown(sample[0])}'"
                ": sample IDs become file names)")
    return (f"'{_shown(sample)}' has characters other than letters, digits, '.', '_' and '-' "
            "(sample IDs become file names)")


def load_samplesheet(path: str | Path) -> Samplesheet:
    """Read and validate a samplesheet, raising :class:`SamplesheetError` listing every problem.

    Parameters
    ----------
    path : str or Path
        CSV file; read paths inside are absolute or relative to its folder.

    Returns
    -------
    Samplesheet
    """
    path = Path(path)
    if not path.is_file():
        raise SamplesheetError(str(path), [f"file not found: {path}"])
    base = path.resolve().parent
    problems: list[str] = []
    with read_csv_text(path, SamplesheetError) as handle:
        reader = csv.DictReader(handle)
        header = [h.strip() for h in (reader.fieldnames or [])]
        reader.fieldnames = header
        required = ("sample", "fastq_1", *MIXS_REQUIRED)
        for column in required:
            if column not in header:
                problems.append(f"header: required column '{column}' is missing")
        dupes = {h for h in header if header.count(h) > 1}
        for column in sorted(dupes):
            problems.append(f"header: column '{column}' appears more than once")
        if problems:
            raise SamplesheetError(str(path), problems)
        try:
            records = list(reader)
        except csv.Error as exc:
            raise SamplesheetError(str(path), [f"line {reader.line_num + 1}: {exc}"]) from None
    if not records:
        raise SamplesheetError(str(path), ["no sample rows"])

    metadata_columns = tuple(h for h in header if h not in READ_COLUMNS)
    seen: dict[str, int] = {}
    seen_files: dict[Path, tuple[int, str]] = {}
    rows: list[SampleRow] = []
    for index, record in enumerate(records, start=2):
        if None in record:
            problems.append(f"line {index}: more fields than the header has columns")
        sample = (record.get("sample") or "").strip()
        shown = _shown(sample)
        where = f"line {index}, sample '{shown}'" if sample else f"line {index}"
        if not sample:
            problems.append(f"{where}, column 'sample': empty sample ID")
        elif not SAMPLE_ID.fullmatch(sample):
            problems.append(f"{where}, column 'sample': {_sample_id_problem(sample)}")
        elif sample in seen:
            problems.append(
                f"{where}, column 'sample': duplicate sample ID (first on line {seen[sample]})"
            )
        else:
            seen[sample] = index

        for column in header:
            formula = None if column in ("fastq_1", "fastq_2") else \
                formula_problem(record.get(column) or "")
            if formula:
                problems.append(f"line {index}, column '{column}': {formula}")

        reads: list[Path | None] = []
        for column in ("fastq_1", "fastq_2"):
            raw = (record.get(column) or "").strip()
            if not raw:
                if column == "fastq_1":
                    problems.append(f"{where}, column 'fastq_1': empty; a read file is required")
                reads.append(None)
                continue
            file_path = _resolve(base, raw)
            reads.append(file_path)
            if any(c.isspace() for c in raw):
                problems.append(
                    f"{where}, column '{column}': '{raw}' contains whitespace; rename the "
                    "file (tools of the pipeline split paths on spaces)"
                )
            if not FASTQ_SUFFIX.search(file_path.name):
                problems.append(
                    f"{where}, column '{column}': '{raw}' does not end in .fastq/.fq(.gz)"
                )
            if not file_path.is_file():
                problems.append(f"{where}, column '{column}': file not found: {file_path}")
            elif file_path in seen_files:
                other_line, other_col = seen_files[file_path]
                problems.append(
                    f"{where}, column '{column}': {raw} is already used on line {other_line} "
                    f"({other_col})"
                )
            else:
                seen_files[file_path] = (index, column)

        for column in MIXS_REQUIRED:
            value = (record.get(column) or "").strip()
            if not value:
                problems.append(
                    f"{where}, column '{column}': empty MIxS field "
                    "(use an INSDC missing value such as 'not collected' if unknown)"
                )
            elif not _is_missing(value):
                problem = _check_value(column, value)
                if problem:
                    problems.append(f"{where}, column '{column}': {problem}")

        problems += soil.check_row(record, where)

        sample_type = (record.get("sample_type") or "").strip()
        if sample_type and sample_type not in SAMPLE_TYPES:
            problems.append(
                f"{where}, column 'sample_type': '{sample_type}' is not one of "
                f"{', '.join(sorted(SAMPLE_TYPES))} (or empty)"
            )

        if reads and reads[0] is not None:
            rows.append(
                SampleRow(
                    sample=sample,
                    fastq_1=reads[0],
                    fastq_2=reads[1],
                    metadata={c: (record.get(c) or "").strip() for c in metadata_columns},
                )
            )
    problems += soil.check_sheet_units(records)
    if problems:
        raise SamplesheetError(str(path), problems)
    return Samplesheet(path=path, rows=tuple(rows), metadata_columns=metadata_columns)
