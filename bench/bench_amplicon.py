#!/usr/bin/env python3
"""Benchmark: the amplicon pipeline against DADA2 alone on a batch of realistic size.

Builds a batch from the Atacama soil 16S reads resampled with replacement (seeded) to
``--pairs`` read pairs per sample (generated under ``bench/out/``, never committed), then

1. runs the whole pipeline (``nextflow run pipeline/main.nf -profile test --input batch``),
2. runs ``bin/dada2_denoise.R`` alone on the same reads with the same settings,

and prints wall time, CPU time and peak memory of each, the tool time taken from the Nextflow
trace (DADA2, cutadapt, vsearch tasks), and the pipeline overhead: the share of the pipeline's
wall time that is not DADA2/cutadapt/vsearch work. Target: overhead below 30%.
"""

from __future__ import annotations

import argparse
import csv
import gzip
import os
import random
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
ATACAMA_SHEET = ROOT / "assets" / "samplesheets" / "atacama_16s.csv"
TOOL_PROCESSES = ("DADA2_DENOISE", "CUTADAPT", "VSEARCH_SINTAX", "DADA2_TAXONOMY")


def read_records(path: Path) -> list[bytes]:
    with gzip.open(path, "rb") as handle:
        lines = handle.read().splitlines(keepends=True)
    return [b"".join(lines[i : i + 4]) for i in range(0, len(lines), 4)]


def make_batch(out: Path, pairs: int, seed: int) -> Path:
    """Resample each non-empty Atacama sample to ``pairs`` pairs; return the samplesheet."""
    rng = random.Random(seed)
    data = out / "reads"
    data.mkdir(parents=True, exist_ok=True)
    with ATACAMA_SHEET.open(newline="") as handle:
        reader = csv.DictReader(handle)
        header, rows = reader.fieldnames, list(reader)
    new_rows = []
    for row in rows:
        r1 = read_records((ATACAMA_SHEET.parent / row["fastq_1"]).resolve())
        r2 = read_records((ATACAMA_SHEET.parent / row["fastq_2"]).resolve())
        if not r1:
            continue
        picks = [rng.randrange(len(r1)) for _ in range(pairs)]
        for mate, records in (("R1", r1), ("R2", r2)):
            target = data / f"{row['sample']}_{mate}.fastq.gz"
            with gzip.open(target, "wb", compresslevel=1) as handle:
                handle.writelines(records[i] for i in picks)
        new_rows.append({**row, "fastq_1": f"reads/{row['sample']}_R1.fastq.gz",
                         "fastq_2": f"reads/{row['sample']}_R2.fastq.gz"})
    sheet = out / "samplesheet.csv"
    with sheet.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=header)
        writer.writeheader()
        writer.writerows(new_rows)
    return sheet


# Runs one command in a fresh launcher process, so its peak RSS (the largest descendant) is not
# mixed with earlier measurements: RUSAGE_CHILDREN's maxrss only ever grows within a process.
_LAUNCHER = """
import json, resource, subprocess, sys, time
start = time.perf_counter()
with open("measure.err", "w") as err:
    rc = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=err).returncode
wall = time.perf_counter() - start
ru = resource.getrusage(resource.RUSAGE_CHILDREN)
print(json.dumps({"rc": rc, "wall": wall, "cpu": ru.ru_utime + ru.ru_stime,
                  "peak_mb": ru.ru_maxrss / 1024}))
"""


def measure(cmd: list[str], cwd: Path, env: dict | None = None) -> dict:
    """Run ``cmd``; return wall seconds, CPU seconds and peak RSS (largest descendant)."""
    import json

    proc = subprocess.run([sys.executable, "-c", _LAUNCHER, *cmd], cwd=cwd, env=env,
                          capture_output=True, text=True, check=True)
    result = json.loads(proc.stdout)
    if result["rc"] != 0:
        err = (cwd / "measure.err").read_text()[-3000:]
        sys.exit(f"command failed ({result['rc']}): {' '.join(cmd)}\n{err}")
    return result


def trace_tool_seconds(outdir: Path) -> float:
    """Sum of the realtime of DADA2 / cutadapt / vsearch tasks in the Nextflow trace."""
    trace = sorted((outdir / "pipeline_info").glob("execution_trace_*.txt"))[-1]
    total = 0.0
    with trace.open() as handle:
        for row in csv.DictReader(handle, delimiter="\t"):
            if row["process"].split(":")[-1] in TOOL_PROCESSES:
                total += _seconds(row["realtime"])
    return total


def _seconds(text: str) -> float:
    units = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400}
    total = 0.0
    for part in text.split():
        for suffix in ("ms", "s", "m", "h", "d"):
            if part.endswith(suffix) and part[: -len(suffix)].replace(".", "").isdigit():
                total += float(part[: -len(suffix)]) * units[suffix]
                break
    return total


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pairs", type=int, default=20000, help="read pairs per sample")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "out" / "amplicon")
    args = parser.parse_args()

    shutil.rmtree(args.out, ignore_errors=True)
    args.out.mkdir(parents=True)
    t0 = time.perf_counter()
    sheet = make_batch(args.out, args.pairs, args.seed)
    print(f"batch: 10 samples x {args.pairs} pairs, built in {time.perf_counter() - t0:.1f} s")

    env = dict(os.environ, NXF_ANSI_LOG="false")
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env['PATH']}"
    outdir = args.out / "results"
    pipe = measure([str(ROOT / "runtime" / "nextflow" / "nextflow"), "run",
                    str(ROOT / "pipeline" / "main.nf"), "-profile", "test", "--input", str(sheet),
                    "--outdir", str(outdir), "--dada2_pool", "pseudo"], cwd=args.out, env=env)
    tools_total = trace_tool_seconds(outdir)

    alone_dir = args.out / "dada2_alone"
    alone_dir.mkdir()
    with sheet.open(newline="") as handle, (alone_dir / "samples.tsv").open("w") as tsv:
        tsv.write("sample\tfastq_1\tfastq_2\n")
        for row in csv.DictReader(handle):
            r1, r2 = args.out / row["fastq_1"], args.out / row["fastq_2"]
            tsv.write(f"{row['sample']}\t{r1}\t{r2}\n")
    alone = measure(["Rscript", str(ROOT / "bin" / "dada2_denoise.R"), "--samples", "samples.tsv",
                     "--threads", "2", "--seed", "42", "--trunc-len-f", "150", "--trunc-len-r",
                     "140", "--pool", "pseudo"], cwd=alone_dir)

    print(f"{'run':<14}{'wall s':>10}{'cpu s':>10}{'peak MB':>10}")
    for name, m in (("pipeline", pipe), ("dada2 alone", alone)):
        print(f"{name:<14}{m['wall']:>10.1f}{m['cpu']:>10.1f}{m['peak_mb']:>10.0f}")
    print(f"pipeline / dada2-alone wall ratio: {pipe['wall'] / alone['wall']:.2f}")
    print(f"tool task realtime in trace (DADA2, cutadapt, vsearch): {tools_total:.1f} s")
    overhead = max(0.0, pipe["wall"] - tools_total) / pipe["wall"]
    print(f"pipeline overhead (wall not spent in DADA2/cutadapt/vsearch tasks): {overhead:.1%} "
          f"(target < 30%)")


if __name__ == "__main__":
    main()
