#!/usr/bin/env python3
"""Benchmark: the shotgun pipeline against its profiler alone (Kraken2, sylph), on two databases.

Resamples the HUMAnN demo reads with replacement (seeded) to ``--reads`` reads per sample
(default 1,000,000) for ``--samples`` samples (default 2; generated under ``bench/out/``, never
committed), then, for each of two pairs of databases,

1. runs the whole shotgun pipeline (``-profile test_shotgun --input batch``: fastp streamed
   into Kraken2 (QC_KRAKEN2), Bracken-method re-estimation, BIOM, stamp, diversity, report),
   and again with ``--shotgun_qc none`` (Kraken2 on the reads as sequenced, the check beside),
2. runs ``kraken2`` alone on the same reads, sample after sample, with the same database and
   the same threads,
3. runs the pipeline with ``--shotgun_profiler sylph``, with fastp (the default: fastp's
   filtered reads streamed into the sketcher in SYLPH_PROFILE) and with ``--shotgun_qc none``
   (reads as sequenced, checked and counted in sylph's own pass),
4. runs sylph alone (``soilbiome shotgun sylph-profile --batch``: pysylph sketch + profile,
   the database loaded once for the batch, as ``sylph profile`` does) on the same reads
   against the sylph database sketched from the same genomes as the Kraken2 one,
5. chains the same tools by hand: fastp with the pipeline's own options and threads (its
   filtered reads written as plain FASTQ), then Kraken2 alone and sylph alone on those reads,

and prints reads per second, wall and CPU time and peak memory of each, task times from the
Nextflow traces, the pipeline's cost over its profiler alone as wall and CPU-time ratios
(target: at most 1.25x), its cost over fastp and the profiler chained by hand, and how
much faster sylph profiles than Kraken2 on the same genomes (target: 5x).

The two pairs of databases: the demo ones (``runtime/build_shotgun_demo.sh``, built when
missing: two genomes' gene centroids, a 34 MB Kraken2 table that is cheap to look up), and a
large pair built once under ``bench/out/shotgun_db/`` from the demo genomes plus
``--db-genomes`` seeded **synthetic** genomes (default 60: a Kraken2 table of 0.56 GB,
8 minutes to build on 2 busy cores; 150: 1.34 GB, 20 minutes; tables whose
lookups miss the CPU caches as a real database's do; see ``bench/shotgun_db.py``), reused
afterwards. The load average is printed at the start and the end, and every run's line gives
the CPU seconds the rest of the machine used meanwhile, those the hypervisor stole and a
one-core speed probe just before and after (``bench_amplicon.measure``): on a shared machine
every figure moves by tens of percent. CPU seconds include descendants nobody waited for
(kraken2's ``gzip -dc`` pipe on compressed reads): the launcher reaps them.
"""

from __future__ import annotations

import argparse
import csv
import gzip
import os
import random
import re
import shlex
import shutil
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_amplicon import _seconds, measure  # noqa: E402 - shared measuring helpers
from shotgun_db import build_bench_databases  # noqa: E402 - the large databases

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
        rows.append({**template, "sample": name, "fastq_1": str(target), "site": name,
                     "metadata_note": f"bench: {reads:,} reads drawn with replacement from "
                                      "the demo sample's simulated reads (seed "
                                      f"{seed}); not a soil sample"})
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


def run_suite(args: argparse.Namespace, sheet: Path, env: dict[str, str], tag: str,
              kraken_db: Path, sylph_db: Path, db_args: list[str]) -> dict[str, object]:
    """Every run on one pair of databases: each pipeline, each profiler alone, and the tools
    chained by hand."""
    nextflow = str(ROOT / "runtime" / "nextflow" / "nextflow")
    agreement = args.out / "agreement.yaml"
    common = ["run", str(ROOT / "pipeline" / "main.nf"), "-profile", "test_shotgun",
              "--input", str(sheet), "--agreement", str(agreement),
              "--max_cpus", str(args.threads), *db_args]
    for stale in (f"results_{tag}", f"results_raw_{tag}", f"results_sylph_{tag}",
                  f"results_sylph_raw_{tag}",
                  f"kraken2_alone_{tag}", f"sylph_alone_{tag}", f"by_hand_{tag}"):
        shutil.rmtree(args.out / stale, ignore_errors=True)
    with sheet.open(newline="") as handle:
        reads = [(row["sample"], Path(row["fastq_1"])) for row in csv.DictReader(handle)]
    outdir = args.out / f"results_{tag}"
    pipe = measure([nextflow, *common, "--outdir", str(outdir)], cwd=args.out, env=env)
    traces = {p: trace_seconds(outdir, p) for p in ("QC_KRAKEN2", "SHOTGUN_TABLE", "STAMP",
                                                     "DIVERSITY", "REPORT")}
    raw_k2 = args.out / f"results_raw_{tag}"
    pipe_k2_raw = measure([nextflow, *common, "--shotgun_qc", "none", "--outdir", str(raw_k2)],
                          cwd=args.out, env=env)
    traces["QC_KRAKEN2 (no QC)"] = trace_seconds(raw_k2, "QC_KRAKEN2")

    alone = kraken2_alone(args, kraken_db, args.out / f"kraken2_alone_{tag}", reads)

    sylph_out = args.out / f"results_sylph_{tag}"
    pipe_sylph = measure([nextflow, *common, "--shotgun_profiler", "sylph",
                          "--outdir", str(sylph_out)], cwd=args.out, env=env)
    traces["SYLPH_PROFILE"] = trace_seconds(sylph_out, "SYLPH_PROFILE")
    traces["SYLPH_FASTQ_QC"] = trace_seconds(sylph_out, "FASTQ_QC")
    raw_out = args.out / f"results_sylph_raw_{tag}"
    pipe_raw = measure([nextflow, *common, "--shotgun_profiler", "sylph", "--shotgun_qc", "none",
                        "--outdir", str(raw_out)], cwd=args.out, env=env)
    traces["SYLPH_PROFILE (no QC)"] = trace_seconds(raw_out, "SYLPH_PROFILE")

    sylph_alone = sylph_batch(args, env, sylph_db, args.out / f"sylph_alone_{tag}", reads)
    hand = by_hand(args, reads, env, args.out / f"by_hand_{tag}", kraken_db, sylph_db,
                   fastp_options(sylph_out))
    return {"pipe": pipe, "alone": alone, "pipe_sylph": pipe_sylph, "pipe_raw": pipe_raw,
            "pipe_k2_raw": pipe_k2_raw, "sylph_alone": sylph_alone, "traces": traces,
            "samples": args.samples, **hand}


def fastp_options(outdir: Path) -> list[str]:
    """The filtering options of the fastp the pipeline ran (its SYLPH_PROFILE task's
    ``fastp.tsv``), without inputs, outputs, reports and threads."""
    trace = sorted((outdir / "pipeline_info").glob("execution_trace_*.txt"))[-1]
    with trace.open() as handle:
        workdir = next(Path(r["workdir"]) for r in csv.DictReader(handle, delimiter="\t")
                       if r["process"].endswith("SYLPH_PROFILE"))
    command = shlex.split((workdir / "fastp.tsv").read_text().splitlines()[0].split("\t", 1)[1])
    options, words = [], iter(command[1:])
    for word in words:
        if word in ("-i", "-I", "-o", "-O", "--thread", "-w", "--json", "-j", "--html", "-h"):
            next(words)
        else:
            options.append(word)
    return options


def kraken2_alone(args: argparse.Namespace, kraken_db: Path, folder: Path,
                  reads: list[tuple[str, Path]]) -> dict[str, float]:
    """``kraken2`` on each sample's reads, one after another, with the same threads."""
    folder.mkdir(exist_ok=True)
    lines = ["set -euo pipefail"] + [
        f"kraken2 --db {kraken_db} --threads {args.threads} --report {sample}.report "
        f"--output /dev/null {path}" for sample, path in reads]
    (folder / "kraken2.sh").write_text("\n".join(lines) + "\n")
    return measure(["bash", str(folder / "kraken2.sh")], cwd=folder)


def sylph_batch(args: argparse.Namespace, env: dict[str, str], sylph_db: Path, folder: Path,
                reads: list[tuple[str, Path]]) -> dict[str, float]:
    """sylph alone as its users run it (``sylph profile db.syldb reads...``): one call for the
    batch, the database loaded once, the same threads."""
    folder.mkdir(exist_ok=True)
    manifest = folder / "batch.tsv"
    manifest.write_text("".join(f"{sample}\t{path}\n" for sample, path in reads))
    return measure([str(Path(sys.executable).parent / "soilbiome"), "shotgun", "sylph-profile",
                    "--batch", str(manifest), "--db", str(sylph_db), "--outdir", str(folder),
                    "--threads", str(args.threads)], cwd=folder, env=env)


def by_hand(args: argparse.Namespace, reads: list[tuple[str, Path]], env: dict[str, str],
            hand: Path, kraken_db: Path, sylph_db: Path, options: list[str]
            ) -> dict[str, object]:
    """The same tools by hand, as a careful user would chain them: fastp with the pipeline's
    options and the same threads, its filtered reads written as plain FASTQ (the cheapest for
    the next tool), then Kraken2 alone and sylph alone on those reads."""
    hand.mkdir()
    lines = ["set -euo pipefail"] + [shlex.join(
        ["fastp", "-i", str(path), "-o", f"{sample}.fastq", "--thread", str(args.threads),
         *options, "--json", f"{sample}.fastp.json", "--html", f"{sample}.fastp.html"])
        for sample, path in reads]
    (hand / "fastp.sh").write_text("\n".join(lines) + "\n")
    fastp = measure(["bash", "fastp.sh"], cwd=hand)
    filtered = [(sample, hand / f"{sample}.fastq") for sample, _ in reads]
    kraken2 = kraken2_alone(args, kraken_db, hand, filtered)
    sylph = sylph_batch(args, env, sylph_db, hand / "sylph", filtered)
    for _, path in filtered:
        path.unlink()  # gigabytes
    return {"fastp_hand": fastp, "kraken2_hand": kraken2, "sylph_hand": sylph}


def report(title: str, r: dict[str, object], total_reads: int) -> None:
    """Print one database's table and ratios."""
    pipe, alone, pipe_sylph, sylph_alone, traces = (
        r["pipe"], r["alone"], r["pipe_sylph"], r["sylph_alone"], r["traces"])
    print(f"\n== {title}")
    print(f"{'run':<26}{'wall s':>10}{'cpu s':>10}{'peak MB':>10}{'reads/s':>12}"
          f"{'others s':>10}{'stolen s':>10}  speed probe before -> after")
    pipe_raw, pipe_k2_raw = r["pipe_raw"], r["pipe_k2_raw"]
    for name, m in (("pipeline (kraken2)", pipe), ("pipeline (kraken2, no QC)", pipe_k2_raw),
                    ("kraken2 alone", alone),
                    ("pipeline (sylph)", pipe_sylph), ("pipeline (sylph, no QC)", pipe_raw),
                    ("sylph alone", sylph_alone), ("fastp by hand", r["fastp_hand"]),
                    ("kraken2 on fastp's reads", r["kraken2_hand"]),
                    ("sylph on fastp's reads", r["sylph_hand"])):
        print(f"{name:<26}{m['wall']:>10.1f}{m['cpu']:>10.1f}{m['peak_mb']:>10.0f}"
              f"{total_reads / m['wall']:>12,.0f}{m['others']:>10.1f}{m['steal']:>10.1f}  "
              f"{m['speed'][0]:.1f} -> {m['speed'][1]:.1f}")
    print("task realtime in the traces (s): " + ", ".join(
        f"{k} {v:.1f}" for k, v in traces.items()))
    for label, what, p, a in (("Kraken2", "", pipe, alone),
                              ("Kraken2", " (--shotgun_qc none)", pipe_k2_raw, alone),
                              ("sylph", "", pipe_sylph, sylph_alone),
                              ("sylph", " (--shotgun_qc none)", pipe_raw, sylph_alone)):
        overhead = max(0.0, p["wall"] - a["wall"]) / p["wall"]
        print(f"pipeline with {label}{what}: {p['wall'] / a['wall']:.2f}x {label} alone by wall "
              f"time, {p['cpu'] / max(a['cpu'], 1e-9):.2f}x by CPU time (overhead "
              f"{overhead:.1%} of the wall; target at most 1.25x)")
    # against the same tools chained by hand (fastp, then the profiler on its reads): what the
    # pipeline costs over the tools it runs, QC included
    fastp = r["fastp_hand"]
    for label, p, a in (("Kraken2", pipe, r["kraken2_hand"]),
                        ("sylph", pipe_sylph, r["sylph_hand"])):
        wall, cpu = fastp["wall"] + a["wall"], fastp["cpu"] + a["cpu"]
        print(f"pipeline with {label} (fastp) / fastp then {label} by hand "
              f"({fastp['wall']:.1f} + {a['wall']:.1f} s): {p['wall'] / wall:.2f}x by wall time, "
              f"{p['cpu'] / max(cpu, 1e-9):.2f}x by CPU time")
    # the part that grows with the reads, against the profiler alone: Kraken2's QC and
    # classification are one task (QC_KRAKEN2), and so are sylph's (SYLPH_PROFILE: fastp
    # streamed into the sketcher; FASTQ_QC before it in runs before that, 0 s here)
    print(f"per-read part with Kraken2: QC_KRAKEN2 {traces['QC_KRAKEN2']:.1f} s (fastp streamed "
          f"into Kraken2) / Kraken2 alone {alone['wall']:.1f} s = "
          f"{traces['QC_KRAKEN2'] / max(alone['wall'], 1e-9):.2f}x")
    qc, prof = traces["SYLPH_FASTQ_QC"], traces["SYLPH_PROFILE"]
    print(f"per-read part with sylph (task times): (FASTQ_QC {qc:.1f} s + SYLPH_PROFILE "
          f"{prof:.1f} s, fastp streamed into the sketcher) / sylph alone "
          f"{sylph_alone['wall']:.1f} s = {(qc + prof) / max(sylph_alone['wall'], 1e-9):.2f}x")
    raw = traces["SYLPH_PROFILE (no QC)"]
    print(f"per-read part with sylph, --shotgun_qc none: SYLPH_PROFILE {raw:.1f} s (check and "
          f"QC counts in sylph's pass) / sylph alone {sylph_alone['wall']:.1f} s = "
          f"{raw / max(sylph_alone['wall'], 1e-9):.2f}x")
    raw_k2 = traces["QC_KRAKEN2 (no QC)"]
    print(f"per-read part with Kraken2, --shotgun_qc none: QC_KRAKEN2 {raw_k2:.1f} s (Kraken2 "
          f"on the raw reads, the check beside) / Kraken2 alone {alone['wall']:.1f} s = "
          f"{raw_k2 / max(alone['wall'], 1e-9):.2f}x")
    # what does not grow with the reads: the pipeline's wall minus its per-read tasks; an
    # extrapolation (labelled as one) of the reads per sample at which the wall ratio reaches
    # 1.25x when the per-read ratio stays as measured
    n_reads = total_reads // max(1, r.get("samples", 1))
    for label, p, per_read, a in (("Kraken2", pipe, traces["QC_KRAKEN2"], alone),
                                  ("Kraken2 --shotgun_qc none", pipe_k2_raw, raw_k2, alone),
                                  ("sylph", pipe_sylph, qc + prof, sylph_alone),
                                  ("sylph --shotgun_qc none", pipe_raw, raw, sylph_alone)):
        fixed = p["wall"] - per_read
        ratio = per_read / max(a["wall"], 1e-9)
        line = (f"{label}: fixed part {fixed:.1f} s (Nextflow, batch steps), per-read ratio "
                f"{ratio:.2f}x")
        if ratio < 1.25:
            scale = fixed / ((1.25 - ratio) * a["wall"])
            line += (f"; extrapolated, not measured: 1.25x from about {scale * n_reads:,.0f} "
                     "reads per sample")
        print(line)
    print(f"sylph alone vs Kraken2 alone on the same genomes and reads: "
          f"{alone['wall'] / sylph_alone['wall']:.2f}x faster by wall time, "
          f"{alone['cpu'] / max(sylph_alone['cpu'], 1e-9):.2f}x by CPU time (target 5x); "
          f"in the pipelines' traces QC_KRAKEN2 / (FASTQ_QC + SYLPH_PROFILE) task time "
          f"{traces['QC_KRAKEN2'] / max(qc + prof, 1e-9):.2f}x")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reads", type=int, default=1_000_000, help="reads per sample")
    parser.add_argument("--samples", type=int, default=2)
    parser.add_argument("--threads", type=int, default=2, help="Kraken2 threads (both runs)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--db-genomes", type=int, default=60,
                        help="synthetic genomes in the large database (0: demo database only)")
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "out" / "shotgun")
    args = parser.parse_args()
    args.out = args.out.resolve()  # the runs start in other folders
    print(f"load average at start: {' '.join(f'{x:.2f}' for x in os.getloadavg())} "
          f"({os.cpu_count()} CPUs)", flush=True)
    if not (SYLPH_DB / "database.syldb").is_file():
        import subprocess

        subprocess.run([str(ROOT / "runtime" / "build_shotgun_demo.sh")], check=True)
    big_sheet = None
    if args.db_genomes > 0:
        t0 = time.perf_counter()
        big = ROOT / "bench" / "out" / "shotgun_db" / f"genomes{args.db_genomes}_seed{args.seed}"
        built = (big / ".complete").is_file()
        big_sheet = build_bench_databases(args.db_genomes, args.seed, big, args.threads)
        if not built:
            print(f"large databases built in {time.perf_counter() - t0:.0f} s", flush=True)

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
    for stale in ("work", ".nextflow"):
        shutil.rmtree(args.out / stale, ignore_errors=True)
    total_reads = args.reads * args.samples
    print(f"batch: {args.samples} samples x {args.reads:,} reads (seed {args.seed})")
    agreement = args.out / "agreement.yaml"
    ids = ", ".join(f"bench{s + 1:02d}" for s in range(args.samples))
    agreement.write_text(re.sub(r"sample_ids: \[[^\]]*\]", f"sample_ids: [{ids}]",
                                AGREEMENT.read_text()))

    env = dict(os.environ, NXF_ANSI_LOG="false")
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env['PATH']}"
    results = [("demo database (2 genomes; Kraken2 hash "
                f"{(DB / 'hash.k2d').stat().st_size / 1e6:,.0f} MB)",
                run_suite(args, sheet, env, "demo", DB, SYLPH_DB, []))]
    if big_sheet is not None:
        big = big_sheet.parent
        results.append((f"large database (2 demo + {args.db_genomes} synthetic genomes; Kraken2 "
                        f"hash {(big / 'kraken2' / 'hash.k2d').stat().st_size / 1e6:,.0f} MB)",
                        run_suite(args, sheet, env, "large", big / "kraken2", big / "sylph",
                                  ["--refdb_sheet", str(big_sheet), "--refdb", "bench_kraken2",
                                   "--sylph_db", "bench_sylph"])))
    for title, r in results:
        report(title, r, total_reads)
    print(f"\nload average at end: {' '.join(f'{x:.2f}' for x in os.getloadavg())}; figures "
          "depend on the machine's load (the run shares its cores with whatever else runs)")


if __name__ == "__main__":
    main()
