#!/usr/bin/env python3
"""Benchmark: the shotgun pipeline against its profiler alone (Kraken2, sylph), realistic sizes.

Resamples the HUMAnN demo reads with replacement (seeded) to ``--reads`` reads per sample
(default 2,000,000) for ``--samples`` samples (generated under ``bench/out/``, never committed),
then

1. runs the whole shotgun pipeline (``-profile test_shotgun --input batch``: fastp, Kraken2,
   Bracken-method re-estimation, BIOM, stamp, diversity, report),
2. runs ``kraken2`` alone on the same reads, sample after sample, with the same database and
   the same threads,

3. runs sylph alone (``soilbiome shotgun sylph-profile --batch``: pysylph sketch + profile,
   the database loaded once for the batch, as ``sylph profile`` does) on the same reads
   against the demo sylph database, sketched from the same genomes as the Kraken2 one,
4. runs the pipeline with ``--shotgun_profiler sylph``,

and prints reads per second, wall and CPU time and peak memory of each, the profilers' task
time from the Nextflow traces, the pipeline's overhead over its profiler alone
(``(pipeline wall - profiler-alone wall) / pipeline wall``, and as wall and CPU-time ratios;
target: at most 1.25x) and how much faster sylph profiles than Kraken2 on the same genomes
(target: 5x).
Needs the demo databases (built here when missing: runtime/build_shotgun_demo.sh).
"""

from __future__ import annotations

import argparse
import csv
import gzip
import os
import random
import re
import shutil
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_amplicon import _seconds, measure  # noqa: E402 - shared measuring helpers

ROOT = Path(__file__).resolve().parents[1]
DEMO = ROOT / "assets" / "test-data" / "shotgun" / "humann_demo.fastq.gz"
DEMO_SHEET = ROOT / "assets" / "samplesheets" / "shotgun_demo.csv"
DB = ROOT / ".runtime" / "kraken2_demo"
SYLPH_DB = ROOT / ".runtime" / "sylph_demo" / "db"
AGREEMENT = ROOT / "sharing_agreements" / "examples" / "open-cc-by-shotgun.yaml"


def read_records(path: Path) -> list[tuple[bytes, bytes]]:
    """(name, rest of the record) of every read."""
    with gzip.open(path, "rb") as handle:
        lines = handle.read().splitlines(keepends=True)
    return [(lines[i][1:].rstrip(b"\n"), b"".join(lines[i + 1 : i + 4]))
            for i in range(0, len(lines), 4)]


def make_batch(out: Path, reads: int, samples: int, seed: int) -> Path:
    """``samples`` resampled copies of the demo reads; return the samplesheet."""
    rng = random.Random(seed)
    records = read_records(DEMO)
    data = out / "reads"
    data.mkdir(parents=True, exist_ok=True)
    with DEMO_SHEET.open(newline="") as handle:
        reader = csv.DictReader(handle)
        header, template = reader.fieldnames, next(reader)
    rows = []
    for s in range(samples):
        name = f"bench{s + 1:02d}"
        target = data / f"{name}.fastq.gz"
        with gzip.open(target, "wb", compresslevel=1) as handle:
            chunk = []
            for i in range(reads):
                rid, rest = records[rng.randrange(len(records))]
                chunk.append(b"@%s_r%d\n%s" % (rid, i, rest))
                if len(chunk) == 100_000:
                    handle.writelines(chunk)
                    chunk = []
            handle.writelines(chunk)
        rows.append({**template, "sample": name, "fastq_1": str(target), "site": name})
    sheet = out / "samplesheet.csv"
    with sheet.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=header)
        writer.writeheader()
        writer.writerows(rows)
    return sheet


def trace_seconds(outdir: Path, process: str) -> float:
    """Sum of the realtime of one process's tasks in the Nextflow trace."""
    trace = sorted((outdir / "pipeline_info").glob("execution_trace_*.txt"))[-1]
    with trace.open() as handle:
        return sum(_seconds(r["realtime"]) for r in csv.DictReader(handle, delimiter="\t")
                   if r["process"].split(":")[-1] == process)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reads", type=int, default=2_000_000, help="reads per sample")
    parser.add_argument("--samples", type=int, default=3)
    parser.add_argument("--threads", type=int, default=2, help="Kraken2 threads (both runs)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "out" / "shotgun")
    args = parser.parse_args()
    if not (SYLPH_DB / "database.syldb").is_file():
        import subprocess

        subprocess.run([str(ROOT / "runtime" / "build_shotgun_demo.sh")], check=True)

    # the resampled reads are kept between runs with the same settings; everything else is not
    stamp = args.out / "batch.txt"
    wanted = f"{args.reads} {args.samples} {args.seed}\n"
    sheet = args.out / "samplesheet.csv"
    if not (stamp.is_file() and stamp.read_text() == wanted and sheet.is_file()):
        shutil.rmtree(args.out, ignore_errors=True)
        args.out.mkdir(parents=True)
        t0 = time.perf_counter()
        sheet = make_batch(args.out, args.reads, args.samples, args.seed)
        stamp.write_text(wanted)
        print(f"batch built in {time.perf_counter() - t0:.1f} s")
    for stale in ("results", "results_sylph", "work", "kraken2_alone", "sylph_alone",
                  ".nextflow"):
        shutil.rmtree(args.out / stale, ignore_errors=True)
    total_reads = args.reads * args.samples
    print(f"batch: {args.samples} samples x {args.reads:,} reads (seed {args.seed})")
    agreement = args.out / "agreement.yaml"
    ids = ", ".join(f"bench{s + 1:02d}" for s in range(args.samples))
    agreement.write_text(re.sub(r"sample_ids: \[[^\]]*\]", f"sample_ids: [{ids}]",
                                AGREEMENT.read_text()))

    env = dict(os.environ, NXF_ANSI_LOG="false")
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env['PATH']}"
    outdir = args.out / "results"
    pipe = measure([str(ROOT / "runtime" / "nextflow" / "nextflow"), "run",
                    str(ROOT / "pipeline" / "main.nf"), "-profile", "test_shotgun",
                    "--input", str(sheet), "--outdir", str(outdir), "--agreement", str(agreement),
                    "--max_cpus", str(args.threads)], cwd=args.out, env=env)
    kraken_tasks = trace_seconds(outdir, "KRAKEN2")
    fastp_tasks = trace_seconds(outdir, "FASTQ_QC")

    alone_dir = args.out / "kraken2_alone"
    alone_dir.mkdir()
    script = alone_dir / "run.sh"
    lines = ["set -euo pipefail"]
    with sheet.open(newline="") as handle:
        for row in csv.DictReader(handle):
            lines.append(f"kraken2 --db {DB} --threads {args.threads} --report "
                         f"{row['sample']}.report --output /dev/null {row['fastq_1']}")
    script.write_text("\n".join(lines) + "\n")
    alone = measure(["bash", str(script)], cwd=alone_dir)

    sylph_out = args.out / "results_sylph"
    pipe_sylph = measure([str(ROOT / "runtime" / "nextflow" / "nextflow"), "run",
                          str(ROOT / "pipeline" / "main.nf"), "-profile", "test_shotgun",
                          "--shotgun_profiler", "sylph", "--input", str(sheet),
                          "--outdir", str(sylph_out), "--agreement", str(agreement),
                          "--max_cpus", str(args.threads)], cwd=args.out, env=env)
    sylph_tasks = trace_seconds(sylph_out, "SYLPH_PROFILE")

    sylph_dir = args.out / "sylph_alone"
    sylph_dir.mkdir()
    # as a sylph user runs it (``sylph profile db.syldb reads...``): one call for the batch,
    # the database loaded once, the same threads
    manifest = sylph_dir / "batch.tsv"
    with sheet.open(newline="") as handle:
        manifest.write_text("".join(f"{row['sample']}\t{row['fastq_1']}\n"
                                    for row in csv.DictReader(handle)))
    sylph_alone = measure([str(Path(sys.executable).parent / "soilbiome"), "shotgun",
                           "sylph-profile", "--batch", str(manifest), "--db", str(SYLPH_DB),
                           "--outdir", str(sylph_dir), "--threads", str(args.threads)],
                          cwd=sylph_dir, env=env)

    print(f"{'run':<26}{'wall s':>10}{'cpu s':>10}{'peak MB':>10}{'reads/s':>12}")
    for name, m in (("pipeline (kraken2)", pipe), ("kraken2 alone", alone),
                    ("pipeline (sylph)", pipe_sylph), ("sylph alone", sylph_alone)):
        print(f"{name:<26}{m['wall']:>10.1f}{m['cpu']:>10.1f}{m['peak_mb']:>10.0f}"
              f"{total_reads / m['wall']:>12,.0f}")
    print(f"task realtime in the traces: KRAKEN2 {kraken_tasks:.1f} s, SYLPH_PROFILE "
          f"{sylph_tasks:.1f} s, FASTQ_QC (fastp + FASTQ check) {fastp_tasks:.1f} s")
    for label, p, a in (("Kraken2", pipe, alone), ("sylph", pipe_sylph, sylph_alone)):
        overhead = max(0.0, p["wall"] - a["wall"]) / p["wall"]
        print(f"pipeline with {label}: {p['wall'] / a['wall']:.2f}x {label} alone by wall time, "
              f"{p['cpu'] / max(a['cpu'], 1e-9):.2f}x by CPU time (overhead {overhead:.1%} of "
              "the wall; target at most 1.25x)")
    print(f"sylph alone vs Kraken2 alone on the same genomes and reads: "
          f"{alone['wall'] / sylph_alone['wall']:.2f}x faster by wall time, "
          f"{alone['cpu'] / max(sylph_alone['cpu'], 1e-9):.2f}x by CPU time (target 5x); "
          f"in the pipelines' traces KRAKEN2 / SYLPH_PROFILE task time "
          f"{kraken_tasks / max(sylph_tasks, 1e-9):.2f}x")
    print("note: figures depend on the machine's load; the run shares its cores with nothing "
          "else only if you make it so")


if __name__ == "__main__":
    main()
