"""DADA2 split into per-chunk / per-run tasks gives what DADA2 gives in one R process.

One real pipeline run on the Atacama reads with two sequencing runs, pseudo-pooling and chunks
of 3 samples; compared with ``bin/dada2_single.R`` (one R process, error models per run) on
the same reads and settings.
"""

from __future__ import annotations

import subprocess
from collections import Counter

import pytest

from conftest import MAIN, ROOT, read_tsv, run_nextflow, trace_rows, write_sheet

pytestmark = pytest.mark.nextflow

SETTINGS = {"trunc-len-f": "150", "trunc-len-r": "140", "seed": "42", "pool": "pseudo"}


def _run_of(sample: str) -> str:
    return "run-A" if sample.startswith("BAQ") else "run-B"


@pytest.fixture(scope="module")
def split_run(tmp_path_factory, atacama_rows_module):
    header, rows = atacama_rows_module
    for row in rows:
        row["run"] = _run_of(row["sample"])
    base = tmp_path_factory.mktemp("dada2_split")
    sheet = write_sheet(base / "sheet.csv", header, rows)
    outdir = base / "results"
    proc = run_nextflow("run", str(MAIN), "-profile", "test", "--input", str(sheet),
                        "--outdir", str(outdir), "--dada2_pool", "pseudo",
                        "--dada2_chunk_size", "3", "--skip_phylogeny", cwd=base)
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-4000:]

    single = base / "single"
    single.mkdir()
    with (single / "samples.tsv").open("w") as handle:
        handle.write("sample\tfastq_1\tfastq_2\trun\n")
        for row in sorted(rows, key=lambda r: r["sample"]):
            handle.write(f"{row['sample']}\t{row['fastq_1']}\t{row['fastq_2']}\t{row['run']}\n")
    args = [a for k, v in SETTINGS.items() for a in (f"--{k}", v)]
    ref = subprocess.run(["Rscript", str(ROOT / "bin" / "dada2_single.R"), "--samples",
                          "samples.tsv", "--threads", "2", *args], cwd=single,
                         capture_output=True, text=True)
    assert ref.returncode == 0, ref.stderr[-3000:]
    return outdir, single


@pytest.fixture(scope="module")
def atacama_rows_module():
    from conftest import ATACAMA_SHEET, read_sheet

    header, rows = read_sheet(ATACAMA_SHEET)
    for row in rows:
        for col in ("fastq_1", "fastq_2"):
            row[col] = str((ATACAMA_SHEET.parent / row[col]).resolve())
    return header, rows


def test_split_equals_one_r_process(split_run):
    outdir, single = split_run
    for name in ("asv_counts.tsv", "read_tracking.tsv", "asv.fasta"):
        assert (outdir / "dada2" / name).read_bytes() == (single / name).read_bytes(), name
    tracking = read_tsv(outdir / "dada2" / "read_tracking.tsv")
    assert {r["sample"] for r in tracking} >= {"BLANK"}
    blank = next(r for r in tracking if r["sample"] == "BLANK")
    assert blank["input"] == "0" and blank["nonchim"] == "0"


def test_trace_shows_chunk_tasks_and_one_error_model_per_run(split_run):
    outdir, _ = split_run
    rows = trace_rows(outdir)
    by_process = Counter(r["process"].split(":")[-1] for r in rows)
    tags = {p: sorted(r["tag"] for r in rows if r["process"].endswith(p))
            for p in by_process}
    # run-A: 5 BAQ samples -> 2 chunks; run-B: 6 samples incl. BLANK -> 2 chunks
    assert tags["DADA2_FILTER"] == ["run-A.1", "run-A.2", "run-B.1", "run-B.2"]
    assert tags["DADA2_ERRORS"] == ["run-A", "run-B"]
    assert tags["DADA2_PSEUDO_PASS"] == tags["DADA2_FILTER"]
    assert tags["DADA2_PSEUDO_PRIORS"] == ["run-A", "run-B"]
    assert tags["DADA2_DENOISE"] == tags["DADA2_FILTER"]
    assert by_process["DADA2_MERGE"] == 1
