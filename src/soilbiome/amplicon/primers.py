"""Primer removal statistics (cutadapt JSON reports) and flags for samples that lack primers.

A sample where most reads lack the expected primer is usually a wrong primer setting, a
sample from another marker or an already-trimmed file: it is flagged, never silently passed.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

from soilbiome.errors import InputError
from soilbiome.io.atomic import atomic_write
from soilbiome.io.textfile import SafeWriter

SUFFIX = ".cutadapt.json"
COLUMNS = ("sample", "reads_in", "reads_with_primer", "fraction_with_primer", "flag")


def primer_record(sample: str, report: dict, min_fraction: float) -> dict:
    """One sample's primer statistics from a cutadapt ``--json`` report."""
    try:
        counts = report["read_counts"]
        reads_in, kept = int(counts["input"]), int(counts["output"])
    except (KeyError, TypeError, ValueError) as exc:
        raise InputError(f"sample '{sample}': cutadapt report lacks read counts ({exc})") from None
    if not 0 <= kept <= reads_in:
        raise InputError(f"sample '{sample}': cutadapt report counts {kept} reads out of "
                         f"{reads_in} in")
    fraction = kept / reads_in if reads_in else 0.0
    if reads_in == 0:
        flag = "empty"
    elif fraction < min_fraction:
        flag = f"most reads lack the primer ({fraction:.1%} have it; threshold {min_fraction:.0%})"
    else:
        flag = ""
    return {"sample": sample, "reads_in": reads_in, "reads_with_primer": kept,
            "fraction_with_primer": round(fraction, 6), "flag": flag}


def summarise_primers(reports: list[Path], out: Path, min_fraction: float = 0.5) -> list[dict]:
    """Write ``primer_summary.tsv`` from ``<sample>.cutadapt.json`` reports."""
    if not 0 <= min_fraction <= 1:
        raise InputError(f"--min-fraction {min_fraction}: a fraction of reads, 0 to 1")
    rows = []
    seen: dict[str, Path] = {}
    for path in sorted(reports):
        path = Path(path)
        if not path.name.endswith(SUFFIX):
            raise InputError(f"expected a file named <sample>{SUFFIX}", location=str(path))
        sample = path.name[: -len(SUFFIX)]
        if sample in seen:  # one row per sample: a second report would be a second row
            raise InputError(f"a second cutadapt report of sample '{sample}' (the first: "
                             f"{seen[sample]})", location=str(path))
        seen[sample] = path
        try:
            report = json.loads(path.read_text())
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise InputError(f"unreadable cutadapt report ({exc})", location=str(path)) from None
        try:
            rows.append(primer_record(sample, report, min_fraction))
        except InputError as exc:
            raise InputError(str(exc), location=str(path)) from None
    with atomic_write(out) as handle:
        writer = SafeWriter(csv.DictWriter(handle, fieldnames=COLUMNS, delimiter="\t",
                                           lineterminator="\n"))
        writer.writeheader()
        writer.writerows(rows)
    return rows
