"""Benchmark: the amplicon pipeline against DADA2 alone on batches of realistic size.

Builds batches from the Atacama soil 16S reads resampled with replacement (seeded) to
``--pairs`` read pairs per sample (``--samples`` samples, cycling over the 10 non-empty Atacama
samples; generated under ``bench/out/``, never committed). Each resampled base is substituted
with the probability its quality score gives (``with_sequencing_errors``), so that a sample
holds about as many distinct reads as a real one: the Atacama samples have only 100 reads
each, and plain copies of them would leave DADA2 almost nothing to denoise. Then

1. runs the whole pipeline (``nextflow run pipeline/main.nf -profile test --input batch
   --dada2_pool pseudo``) on each batch, and prints the per-stage times from the largest
   one's trace (tasks, summed task realtime, and the stage's span from first start to last end);
2. right after each, runs ``bin/dada2_single.R`` (DADA2 in one R process, same settings, same
   cores) on the same reads: target pipeline wall <= 1.2 x this (``--alone largest``: only
   for the largest batch);
3. prints a table of every size: wall time per sample (scaling: the per-sample cost must not
   grow with the batch size), both ratios, the seconds over DADA2 alone and the load;
4. prints, per size, where the seconds over DADA2 alone go: the pipeline's start (launch to
   DADA2's first task), DADA2's own tasks against DADA2 alone, the tail (the steps after DADA2)
   and the end (publishing, run crate); and, for every measured run, the CPU seconds the rest
   of the machine used meanwhile, those the hypervisor stole (/proc/stat) and a speed probe
   just before and after (``cpu_speed``), since a ratio taken while the machine was busy with
   other work or ran at another speed compares two different machines.

``--repeat N`` runs N such pairs per size (each pair's ratio taken back to back, as
``farm-bench`` pairs its runs; every second pair runs DADA2 alone first, so that neither side
always finds the other's libraries in memory) and the table quotes the pair whose wall ratio is
the median (the lower middle one of an even count): on a shared VM one slow minute moves a
single pair by tens of percent, the median of several far less.
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

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
ATACAMA_SHEET = ROOT / "assets" / "samplesheets" / "atacama_16s.csv"


def read_records(path: Path) -> list[bytes]:
    with gzip.open(path, "rb") as handle:
        lines = handle.read().splitlines(keepends=True)
    return [b"".join(lines[i : i + 4]) for i in range(0, len(lines), 4)]


def with_sequencing_errors(records: list[bytes], rng: np.random.Generator) -> list[bytes]:
    """Copies of FASTQ records with substitutions drawn from their own quality scores.

    Each base is replaced by one of the three other bases with probability 10^(-Q/10), Q its
    Phred score: resampled reads then carry errors like real ones, so that DADA2 has as many
    distinct sequences to denoise as in a real sample instead of a few hundred exact copies.
    """
    parts = [r.split(b"\n")[:4] for r in records]
    seqs = np.frombuffer(b"".join(p[1] for p in parts), dtype=np.uint8).copy()
    quals = np.frombuffer(b"".join(p[3] for p in parts), dtype=np.uint8)
    hit = rng.random(seqs.size) < 10.0 ** (-(quals.astype(np.float64) - 33) / 10)
    code = np.full(256, 255, dtype=np.uint8)
    code[np.frombuffer(b"ACGT", dtype=np.uint8)] = np.arange(4, dtype=np.uint8)
    current = code[seqs]
    hit &= current < 4  # N stays N
    shift = rng.integers(1, 4, size=int(hit.sum()), dtype=np.uint8)
    seqs[hit] = np.frombuffer(b"ACGT", dtype=np.uint8)[(current[hit] + shift) % 4]
    out, pos = [], 0
    for p in parts:
        n = len(p[1])
        out.append(b"\n".join([p[0], seqs[pos:pos + n].tobytes(), p[2], p[3]]) + b"\n")
        pos += n
    return out


def make_batch(out: Path, n_samples: int, pairs: int, seed: int, errors: bool = True) -> Path:
    """``n_samples`` samples of ``pairs`` pairs resampled from the non-empty Atacama samples,
    with quality-drawn sequencing errors unless ``errors`` is false."""
    rng = random.Random(seed)
    nprng = np.random.default_rng(seed)
    data = out / "reads"
    data.mkdir(parents=True, exist_ok=True)
    with ATACAMA_SHEET.open(newline="") as handle:
        reader = csv.DictReader(handle)
        header, rows = reader.fieldnames, list(reader)
    sources = []
    for row in rows:
        r1 = read_records((ATACAMA_SHEET.parent / row["fastq_1"]).resolve())
        r2 = read_records((ATACAMA_SHEET.parent / row["fastq_2"]).resolve())
        if r1:
            sources.append((row, r1, r2))
    new_rows = []
    for i in range(n_samples):
        row, r1, r2 = sources[i % len(sources)]
        name = f"S{i + 1:03d}"
        picks = [rng.randrange(len(r1)) for _ in range(pairs)]
        for mate, records in (("R1", r1), ("R2", r2)):
            target = data / f"{name}_{mate}.fastq.gz"
            chosen = [records[k] for k in picks]
            if errors:
                chosen = with_sequencing_errors(chosen, nprng)
            with gzip.open(target, "wb", compresslevel=1) as handle:
                handle.writelines(chosen)
        new_rows.append({**row, "sample": name, "fastq_1": f"reads/{name}_R1.fastq.gz",
                         "fastq_2": f"reads/{name}_R2.fastq.gz"})
    sheet = out / "samplesheet.csv"
    with sheet.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=header)
        writer.writeheader()
        writer.writerows(new_rows)
    return sheet


# Runs one command in a fresh launcher process, so its peak RSS (the largest descendant) is not
# mixed with earlier measurements: RUSAGE_CHILDREN's maxrss only ever grows within a process.
# The launcher is a child subreaper (prctl PR_SET_CHILD_SUBREAPER): a descendant whose parent
# never waits for it (kraken2's wrapper opens a `gzip -dc` pipe and execs classify, which exits
# without reaping it) is handed to the launcher and reaped there, so its CPU counts in the run's
# instead of vanishing into "others".
_LAUNCHER = """
import ctypes, json, os, resource, subprocess, sys, time
ctypes.CDLL(None, use_errno=True).prctl(36, 1, 0, 0, 0)  # PR_SET_CHILD_SUBREAPER
launched = time.time()
start = time.perf_counter()
with open("measure.err", "w") as err:
    rc = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=err).returncode
wall = time.perf_counter() - start
orphans, limit = 0, time.perf_counter() + 60
while True:  # descendants left behind: reaped, so that their CPU time is counted
    try:
        pid, _ = os.waitpid(-1, os.WNOHANG)
    except ChildProcessError:
        break
    if pid:
        orphans += 1
    elif time.perf_counter() > limit:
        break
    else:
        time.sleep(0.01)
ru = resource.getrusage(resource.RUSAGE_CHILDREN)
print(json.dumps({"rc": rc, "wall": wall, "cpu": ru.ru_utime + ru.ru_stime,
                  "peak_mb": ru.ru_maxrss / 1024, "launched": launched, "ended": time.time(),
                  "orphans": orphans}))
"""


def machine_cpu() -> tuple[float, float]:
    """Seconds of CPU the whole machine has been busy, and seconds stolen from it by the
    hypervisor (``steal``: a virtual CPU ready to run while the host ran something else), both
    summed over its cores since boot, from the first line of /proc/stat."""
    with open("/proc/stat") as handle:
        fields = [int(x) for x in handle.readline().split()[1:9]]
    user, nice, system, _idle, _iowait, irq, softirq, steal = fields
    hz = os.sysconf("SC_CLK_TCK")
    return (user + nice + system + irq + softirq) / hz, steal / hz


def cpu_speed(seconds: float = 0.5) -> float:
    """Millions of steps per second of a fixed pure-Python loop on one core: a probe of how
    fast this machine runs right now. On a VM the same work can take tens of percent more CPU
    time from one minute to the next (the host's other tenants share caches, memory bandwidth
    and clock boost; none of it counts as stolen time), so a ratio of two runs is only as good
    as the machine's speed was steady across them."""
    steps, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        x = 0
        for i in range(100_000):
            x += i * i
        steps += 100_000
    return steps / (time.perf_counter() - start) / 1e6


def measure(cmd: list[str], cwd: Path, env: dict | None = None) -> dict:
    """Run ``cmd``; return wall seconds, CPU seconds, peak RSS (largest descendant), the launch
    time, and what else the machine did meanwhile: ``others`` (CPU seconds of every other
    process), ``steal`` (CPU seconds the hypervisor took) and ``speed`` (:func:`cpu_speed`
    just before and just after)."""
    import json

    speed0 = cpu_speed()
    busy0, steal0 = machine_cpu()
    proc = subprocess.run([sys.executable, "-c", _LAUNCHER, *cmd], cwd=cwd, env=env,
                          capture_output=True, text=True, check=True)
    busy1, steal1 = machine_cpu()
    speed1 = cpu_speed()
    result = json.loads(proc.stdout)
    if result["rc"] != 0:
        err = (cwd / "measure.err").read_text()[-3000:]
        sys.exit(f"command failed ({result['rc']}): {' '.join(cmd)}\n{err}")
    # the launcher's own start (about 0.05 s of Python) is in neither figure's way
    result["others"] = max(0.0, busy1 - busy0 - result["cpu"])
    result["steal"] = steal1 - steal0
    result["speed"] = (speed0, speed1)
    return result


def trace_stages(outdir: Path) -> list[tuple[str, int, float, float]]:
    """Per process: tasks, summed realtime (s) and span from first start to last end (s)."""
    trace = sorted((outdir / "pipeline_info").glob("execution_trace_*.txt"))[-1]
    stages: dict[str, list] = {}
    with trace.open() as handle:
        for row in csv.DictReader(handle, delimiter="\t"):
            name = row["process"].split(":")[-1]
            if row["start"] in ("", "-") or row["complete"] in ("", "-"):
                continue
            start, end = _epoch_ms(row["start"]), _epoch_ms(row["complete"])
            st = stages.setdefault(name, [0, 0.0, start, end])
            st[0] += 1
            st[1] += _seconds(row["realtime"])
            st[2], st[3] = min(st[2], start), max(st[3], end)
    first = min(v[2] for v in stages.values())
    rows = [(k, v[0], v[1], (v[3] - v[2]) / 1000, (v[2] - first) / 1000) for k, v in stages.items()]
    return sorted(rows, key=lambda r: r[4])


def _epoch_ms(stamp: str) -> float:
    """Milliseconds of a trace timestamp ('2026-11-21 13:12:34.475' or epoch ms)."""
    import datetime as dt

    if stamp.isdigit():
        return float(stamp)
    return dt.datetime.strptime(stamp, "%Y-%m-%d %H:%M:%S.%f").timestamp() * 1000


def _seconds(text: str) -> float:
    units = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400}
    total = 0.0
    for part in text.split():
        for suffix in ("ms", "s", "m", "h", "d"):
            if part.endswith(suffix) and part[: -len(suffix)].replace(".", "").isdigit():
                total += float(part[: -len(suffix)]) * units[suffix]
                break
    return total


def run_pipeline(sheet: Path, outdir: Path, cwd: Path) -> dict:
    # resampled sample names are not in the test profile's agreement: no stamp
    no_stamp = cwd / "no_stamp.config"
    no_stamp.write_text("params.agreement = null\nparams.signing_key = null\n")
    env = dict(os.environ, NXF_ANSI_LOG="false")
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env['PATH']}"
    return measure([str(ROOT / "runtime" / "nextflow" / "nextflow"), "run",
                    str(ROOT / "pipeline" / "main.nf"), "-profile", "test", "--input", str(sheet),
                    "--outdir", str(outdir), "--dada2_pool", "pseudo", "-c", str(no_stamp)],
                   cwd=cwd, env=env)


def phases(outdir: Path, launched: float, ended: float) -> dict[str, float]:
    """Where a pipeline run's wall time went, from its trace (times of day, as ``launched`` and
    ``ended``). ``start``: launch to DADA2's first task starting (Nextflow's start, the start-up
    checks); ``dada2``: DADA2's first task starting to its last one ending; ``tail``: from there
    to the last task's end (tree, taxonomy, table, reports); ``end``: to the exit (publishing,
    run record, run crate, Nextflow's own reports). They add up to the wall time unless the
    clock of the day was stepped meanwhile (see ``clock_step`` in :func:`run_pair`)."""
    trace = sorted((outdir / "pipeline_info").glob("execution_trace_*.txt"))[-1]
    with trace.open() as handle:
        rows = [r for r in csv.DictReader(handle, delimiter="\t")
                if r["start"] not in ("", "-") and r["complete"] not in ("", "-")]
    dada2 = [r for r in rows if r["process"].split(":")[-1].startswith("DADA2_")]
    first = min(_epoch_ms(r["start"]) for r in dada2) / 1000
    done = max(_epoch_ms(r["complete"]) for r in dada2) / 1000
    last = max(_epoch_ms(r["complete"]) for r in rows) / 1000
    return {"start": first - launched, "dada2": done - first, "tail": last - done,
            "end": ended - last}


def machine_note(m: dict) -> str:
    return (f"others' CPU {m['others']:.1f} s, stolen {m['steal']:.1f} s, "
            f"speed probe {m['speed'][0]:.1f} -> {m['speed'][1]:.1f}")


def run_alone(where: Path, sheet: Path, n: int) -> dict:
    """DADA2 alone (bin/dada2_single.R, one R process) on ``sheet``'s reads, in ``where``."""
    alone_dir = where / "dada2_alone"
    alone_dir.mkdir()
    with sheet.open(newline="") as handle, (alone_dir / "samples.tsv").open("w") as tsv:
        tsv.write("sample\tfastq_1\tfastq_2\n")
        for r in sorted(csv.DictReader(handle), key=lambda r: r["sample"]):
            reads = [sheet.parent / r["fastq_1"], sheet.parent / r["fastq_2"]]
            tsv.write(f"{r['sample']}\t{reads[0]}\t{reads[1]}\n")
    solo = measure(["Rscript", str(ROOT / "bin" / "dada2_single.R"), "--samples",
                    "samples.tsv", "--threads", "2", "--seed", "42", "--trunc-len-f", "150",
                    "--trunc-len-r", "140", "--pool", "pseudo"], cwd=alone_dir)
    print(f"DADA2 alone (one R process), {n} samples: wall {solo['wall']:.1f} s, "
          f"cpu {solo['cpu']:.1f} s, peak {solo['peak_mb']:.0f} MB, load average now "
          f"{os.getloadavg()[0]:.1f}; {machine_note(solo)}")
    return solo


def run_pair(where: Path, sheet: Path, n: int, show_stages: bool, alone: bool,
             alone_first: bool = False) -> dict:
    """The pipeline on ``sheet`` launched in ``where`` and (``alone``) DADA2 alone on the same
    reads, back to back (DADA2 alone first if ``alone_first``); prints both and their ratios."""
    where.mkdir(exist_ok=True)
    row: dict = {}
    if alone and alone_first:
        row["alone"] = run_alone(where, sheet, n)
    load0 = os.getloadavg()[0]
    pipe = run_pipeline(sheet, where / "results", where)
    pipe["phases"] = phases(where / "results", pipe["launched"], pipe["ended"])
    # the wall time is read on the monotonic clock, the trace on the clock of the day: on a VM
    # the latter is sometimes stepped (after the VM was paused, say), which shifts the phases
    pipe["clock_step"] = pipe["ended"] - pipe["launched"] - pipe["wall"]
    row.update(pipe=pipe, load=(load0, os.getloadavg()[0]))
    print(f"pipeline, {n} samples: wall {pipe['wall']:.1f} s, cpu {pipe['cpu']:.1f} s, "
          f"peak {pipe['peak_mb']:.0f} MB, load average {load0:.1f} -> "
          f"{os.getloadavg()[0]:.1f}; {machine_note(pipe)}")
    step = (f" (the clock of the day moved {pipe['clock_step']:+.1f} s against the wall time: "
            "the phases are off by that much)" if abs(pipe["clock_step"]) > 0.5 else "")
    print("pipeline phases: " + ", ".join(f"{k} {v:.1f} s" for k, v in pipe["phases"].items())
          + step)
    if show_stages:
        print(f"{'stage':<22}{'tasks':>6}{'task s':>9}{'span s':>9}{'starts at s':>13}")
        for name, tasks, realtime, span, offset in trace_stages(where / "results"):
            print(f"{name:<22}{tasks:>6}{realtime:>9.1f}{span:>9.1f}{offset:>13.1f}")
    if not alone:
        return row
    if not alone_first:
        row["alone"] = run_alone(where, sheet, n)
    solo = row["alone"]
    same = all((where / "dada2_alone" / f).read_bytes()
               == (where / "results" / "dada2" / f).read_bytes()
               for f in ("asv_counts.tsv", "read_tracking.tsv", "asv.fasta"))
    print(f"pipeline DADA2 outputs identical to DADA2 alone: {same}")
    print(f"pipeline / DADA2-alone wall ratio ({n} samples): "
          f"{pipe['wall'] / solo['wall']:.2f} (target <= 1.2)")
    # on a machine shared with other work the wall ratio follows the load; the CPU ratio
    # (everything the pipeline ran, Nextflow included, against DADA2's R process) less so
    print(f"pipeline / DADA2-alone cpu ratio ({n} samples): {pipe['cpu'] / solo['cpu']:.2f}")
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pairs", type=int, default=20000, help="read pairs per sample")
    parser.add_argument("--sizes", default="10,20,40",
                        help="batch sizes (samples), each compared with DADA2 alone")
    parser.add_argument("--alone", choices=("all", "largest"), default="all",
                        help="run DADA2 alone for every size (default) or the largest only")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--repeat", type=int, default=1,
                        help="pairs of runs (pipeline, then DADA2 alone) per size; the table "
                             "quotes the pair with the median wall ratio")
    parser.add_argument("--no-errors", action="store_true",
                        help="resample reads as they are (no quality-drawn substitutions)")
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "out" / "amplicon")
    args = parser.parse_args()
    sizes = [int(x) for x in args.sizes.split(",")]

    shutil.rmtree(args.out, ignore_errors=True)
    args.out.mkdir(parents=True)
    print(f"machine: {os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f} at start")
    rows: dict[int, dict] = {}
    largest = max(sizes)
    for n in sizes:
        batch = args.out / f"n{n}"
        batch.mkdir()
        t0 = time.perf_counter()
        sheet = make_batch(batch, n, args.pairs, args.seed, errors=not args.no_errors)
        print(f"batch: {n} samples x {args.pairs} pairs"
              f"{'' if args.no_errors else ' with quality-drawn errors'}, built in "
              f"{time.perf_counter() - t0:.1f} s")
        # with several pairs, every second one runs DADA2 alone first: whichever runs second
        # finds more of the shared libraries (R, Biostrings) still in memory
        pairs = [run_pair(batch if args.repeat == 1 else batch / f"pair{r + 1}", sheet, n,
                          show_stages=n == largest and r == 0,
                          alone=args.alone == "all" or n == largest, alone_first=r % 2 == 1)
                 for r in range(args.repeat)]
        if args.repeat > 1 and "alone" in pairs[0]:
            ratios = sorted(p["pipe"]["wall"] / p["alone"]["wall"] for p in pairs)
            print(f"wall ratios of the {args.repeat} pairs ({n} samples): "
                  f"{', '.join(f'{r:.2f}' for r in ratios)}; median quoted below")
            pairs.sort(key=lambda p: p["pipe"]["wall"] / p["alone"]["wall"])
        rows[n] = pairs[(len(pairs) - 1) // 2]
    print(f"{'samples':>8}{'pipeline s':>12}{'s/sample':>10}{'alone s':>10}{'wall ratio':>12}"
          f"{'cpu ratio':>11}{'over s':>8}  load average")
    for n in sorted(rows):
        pipe, alone = rows[n]["pipe"], rows[n].get("alone")
        extra = (f"{alone['wall']:>10.1f}{pipe['wall'] / alone['wall']:>12.2f}"
                 f"{pipe['cpu'] / alone['cpu']:>11.2f}{pipe['wall'] - alone['wall']:>8.1f}"
                 if alone else f"{'-':>10}{'-':>12}{'-':>11}{'-':>8}")
        print(f"{n:>8}{pipe['wall']:>12.1f}{pipe['wall'] / n:>10.2f}{extra}  "
              f"{rows[n]['load'][0]:.1f} -> {rows[n]['load'][1]:.1f}")
    # the seconds over DADA2 alone, phase by phase: DADA2's own tasks against DADA2 alone, and the
    # pipeline's start, tail and end, which DADA2 alone does not have
    print(f"{'samples':>8}{'start s':>9}{'DADA2 s':>9}{'vs alone':>10}{'tail s':>8}{'end s':>7}"
          f"  others' CPU s / stolen s (pipeline; alone)")
    for n in sorted(rows):
        pipe, alone = rows[n]["pipe"], rows[n].get("alone")
        ph = pipe["phases"]
        vs = f"{ph['dada2'] - alone['wall']:>+10.1f}" if alone else f"{'-':>10}"
        machine = f"{pipe['others']:.1f} / {pipe['steal']:.1f}" + (
            f"; {alone['others']:.1f} / {alone['steal']:.1f}" if alone else "")
        print(f"{n:>8}{ph['start']:>9.1f}{ph['dada2']:>9.1f}{vs}{ph['tail']:>8.1f}"
              f"{ph['end']:>7.1f}  {machine}")

if __name__ == "__main__":
    main()
