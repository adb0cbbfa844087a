"""Per-sample QC records (FASTQ check + fastp report) and the batch QC summary table."""

from __future__ import annotations

import csv
from pathlib import Path

from soilbiome.errors import InputError
from soilbiome.io.atomic import atomic_write
from soilbiome.io.jsonfile import read_json_object, write_json
from soilbiome.io.textfile import SafeWriter

#: Below this many read pairs after QC a sample is flagged ``low_reads`` (kept, never dropped).
LOW_READS = 10

QC_COLUMNS: tuple[str, ...] = (
    "sample",
    "status",
    "paired",
    "reads_in",
    "reads_out",
    "pass_rate",
    "bases_in",
    "bases_out",
    "q30_rate_in",
    "q30_rate_out",
    "gc_content_in",
    "duplication_rate",
    "low_quality_reads",
    "too_many_n_reads",
    "too_short_reads",
)


_NUMBER = (int, float)
#: The fields a FASTQ check record (``fastq-check --out``) must have, and their types.
CHECK_FIELDS: dict[str, type | tuple[type, ...]] = {"sample": str, "reads": int, "paired": bool}
#: The fields of a sample's QC record (``qc-record``), and their types.
RECORD_FIELDS: dict[str, type | tuple[type, ...]] = {
    "sample": str, "status": str, "paired": bool, "reads_in": int, "reads_out": int,
    "pass_rate": _NUMBER, "bases_in": int, "bases_out": int, "q30_rate_in": _NUMBER,
    "q30_rate_out": _NUMBER, "gc_content_in": _NUMBER, "duplication_rate": (*_NUMBER, str),
    "low_quality_reads": int, "too_many_n_reads": int, "too_short_reads": int,
}


def _load_json(path: Path, fields: dict[str, type | tuple[type, ...]] | None = None) -> dict:
    """A JSON object from ``path``; with ``fields``, each present with its type (a count
    never negative), else an error naming the file and the field."""
    data = read_json_object(path)
    for name, kind in (fields or {}).items():
        if name not in data:
            raise InputError(f"no '{name}' field", location=str(path))
        value = data[name]
        wrong = not isinstance(value, kind) or (isinstance(value, bool) and kind is not bool)
        if wrong or (kind is int and value < 0):
            wanted = kind.__name__ if isinstance(kind, type) else " or ".join(
                k.__name__ for k in kind)
            wanted = wanted if wrong else f"non-negative {wanted}"
            article = "an" if wanted[0] in "aeiou" else "a"
            raise InputError(f"'{name}' is {value!r}, not {article} {wanted}",
                             location=str(path))
    return data


def read_qc_record(path: str | Path) -> dict:
    """A sample's QC record (``qc-record``), every field checked, ``reads_out <= reads_in``."""
    record = _load_json(Path(path), RECORD_FIELDS)
    if record["reads_out"] > record["reads_in"]:
        raise InputError(f"reads_out {record['reads_out']} is more than reads_in "
                         f"{record['reads_in']}", location=str(path))
    return record


def read_check_record(path: str | Path) -> dict:
    """A FASTQ check record (``fastq-check --out``), every field checked."""
    return _load_json(Path(path), CHECK_FIELDS)


def _status(reads_in: int, reads_out: int) -> str:
    """A sample's QC status: ``empty`` (no reads), ``low_reads`` (fewer than
    :data:`LOW_READS` kept: kept all the same, never dropped) or ``ok``."""
    if reads_in == 0:
        return "empty"
    return "low_reads" if reads_out < LOW_READS else "ok"


def qc_record(check: dict, fastp: dict, *, fastp_path: str | Path | None = None) -> dict:
    """Combine a FASTQ check (``FastqStats.to_dict()``) and a fastp JSON report into one record.

    fastp counts reads of both mates; the record counts read *pairs* for paired samples, so
    numbers compare across single- and paired-end batches. A report without the fields fastp
    writes, or with fields of another shape, is an error naming ``fastp_path`` when given.
    """
    where = str(fastp_path) if fastp_path is not None else None
    mates = 2 if check["paired"] else 1
    reads_in = int(check["reads"])
    try:
        before = fastp["summary"]["before_filtering"]
        after = fastp["summary"]["after_filtering"]
        filtering = fastp["filtering_result"]
        fastp_in = int(before["total_reads"])
        reads_out = int(after["total_reads"]) // mates
        measured = {
            "bases_in": int(before["total_bases"]),
            "bases_out": int(after["total_bases"]),
            "q30_rate_in": float(before["q30_rate"]),
            "q30_rate_out": float(after["q30_rate"]),
            "gc_content_in": float(before["gc_content"]),
            # not evaluated in amplicon mode (every amplicon read is a duplicate): NA, not 0
            "duplication_rate": (float(fastp["duplication"]["rate"])
                                 if "rate" in fastp.get("duplication", {}) else "NA"),
            "low_quality_reads": int(filtering.get("low_quality_reads", 0)) // mates,
            "too_many_n_reads": int(filtering.get("too_many_N_reads", 0)) // mates,
            "too_short_reads": int(filtering.get("too_short_reads", 0)) // mates,
        }
    except KeyError as exc:
        raise InputError(f"fastp report lacks {exc}", location=where) from None
    except (TypeError, ValueError, AttributeError) as exc:  # a field of another shape
        raise InputError(f"fastp report not as fastp writes it ({type(exc).__name__}: {exc})",
                         location=where) from None
    if fastp_in != reads_in * mates:
        raise InputError(
            f"sample '{check['sample']}': fastp read {fastp_in} reads but the FASTQ "
            f"check counted {reads_in * mates}"
        )
    return {
        "sample": check["sample"],
        "status": _status(reads_in, reads_out),
        "paired": bool(check["paired"]),
        "reads_in": reads_in,
        "reads_out": reads_out,
        "pass_rate": round(reads_out / reads_in, 6) if reads_in else 0.0,
        **measured,
    }


def unfiltered_record(sample: str, *, paired: bool, reads: int, bases: int, q30_bases: int,
                      gc_bases: int) -> dict:
    """The QC record of reads profiled as sequenced (``--shotgun_qc none``): counted and
    checked in the profiler's own pass, nothing filtered, so ``*_out`` equal ``*_in`` and the
    filter counts are 0; the duplication rate is not estimated (NA). Pairs count once."""
    q30 = round(q30_bases / bases, 6) if bases else 0.0
    return {
        "sample": sample,
        "status": _status(reads, reads),
        "paired": paired,
        "reads_in": reads,
        "reads_out": reads,
        "pass_rate": 1.0 if reads else 0.0,
        "bases_in": bases,
        "bases_out": bases,
        "q30_rate_in": q30,
        "q30_rate_out": q30,
        "gc_content_in": round(gc_bases / bases, 6) if bases else 0.0,
        "duplication_rate": "NA",
        "low_quality_reads": 0,
        "too_many_n_reads": 0,
        "too_short_reads": 0,
    }


def write_qc_record(check_json: Path, fastp_json: Path, out: Path) -> dict:
    """Build one sample's QC record from its files and write it as JSON."""
    record = qc_record(read_check_record(check_json), read_json_object(fastp_json),
                       fastp_path=fastp_json)
    write_json(out, record)
    return record


def summarise(records: list[Path], out_tsv: Path, samplesheet: Path | None = None) -> list[dict]:
    """Collect per-sample QC records into one table (TSV, plus JSON beside it).

    When the validated samplesheet is given, every sample in it must have a record: a sample
    cannot silently disappear between input and summary.
    """
    rows = [read_qc_record(p) for p in records]
    names = [r["sample"] for r in rows]
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        raise InputError(f"more than one QC record for sample(s): {', '.join(dupes)}")
    order = {n: i for i, n in enumerate(names)}
    if samplesheet is not None:
        with Path(samplesheet).open(newline="") as handle:
            expected = [r["sample"] for r in csv.DictReader(handle)]
        missing = [s for s in expected if s not in order]
        if missing:
            raise InputError(f"no QC record for sample(s): {', '.join(missing)}")
        unknown = [s for s in names if s not in expected]
        if unknown:  # a record of another batch: the table would count a sample not sequenced
            raise InputError(f"QC record for sample(s) not in the samplesheet: "
                             f"{', '.join(unknown)}", location=str(samplesheet))
        order = {n: i for i, n in enumerate(expected)}
    rows.sort(key=lambda r: order.get(r["sample"], len(order)))
    with atomic_write(out_tsv) as handle:
        writer = SafeWriter(csv.DictWriter(handle, fieldnames=QC_COLUMNS, delimiter="\t",
                                           extrasaction="ignore", lineterminator="\n"))
        writer.writeheader()
        writer.writerows(rows)
    write_json(out_tsv.with_suffix(".json"), rows)
    return rows
