#!/usr/bin/env python3
"""Benchmark: stamp and verify throughput on a large BIOM table, next to ``sha256sum``.

Generates a BIOM 2.1 (HDF5) table of about ``--size-mb`` MB in a temporary directory (never in
the repository), then times, each in its own child process:

- ``sha256sum FILE`` (the floor: one streaming read and hash),
- ``soilbiome stamp FILE -o STAMPED`` (copy, validate the copy streaming -- the one reader's
  checks slice by slice, both stored orientations compared by fingerprint --, embed the stamp,
  hash, sign, rename),
- ``soilbiome verify STAMPED`` (rules D1..D10: the same streaming check, read stamp, hash,
  verify signature),

and reports wall time, MB/s, the ratio to ``sha256sum`` and the peak resident memory of each
child (``ru_maxrss`` from ``os.wait4``), for two table sizes in one run (default 50 MB and
400 MB): peak memory must not grow with the file. Usage (one run is enough on a shared
machine; figures in docs/sharing.md#performance)::

    python bench/bench_stamp.py --small-mb 50 --size-mb 400 --repeats 1
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import h5py
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
OPEN_EXAMPLE = ROOT / "sharing_agreements" / "examples" / "open-cc-by.yaml"
BYTES_PER_NNZ = 24  # float64 data + int32 index, stored once per axis (CSR and CSC)


def write_biom(path: Path, size_mb: float, chunk: int = 1 << 22) -> tuple[int, int, list[str]]:
    """Write a dense-pattern BIOM 2.1 table of about ``size_mb`` MB without holding it in memory.

    Every cell is non-zero, value ``(31*i + 17*j) % 97 + 1``, so CSR and CSC describe the same
    matrix and both can be streamed in chunks.
    """
    nnz_target = max(1, int(size_mb * 1024 * 1024 / BYTES_PER_NNZ))
    n_samples = max(4, min(4000, int(nnz_target ** 0.5 / 4)))
    n_obs = max(1, nnz_target // n_samples)
    nnz = n_obs * n_samples
    sample_ids = [f"S{j:05d}" for j in range(n_samples)]
    obs_ids = [f"OTU{i:07d}" for i in range(n_obs)]
    vlen = h5py.string_dtype("utf-8")
    with h5py.File(path, "w") as f:
        f.attrs["id"] = "bench"
        f.attrs["type"] = "OTU table"
        f.attrs["format-url"] = "http://biom-format.org"
        f.attrs["format-version"] = np.array([2, 1], dtype=np.int32)
        f.attrs["generated-by"] = "soilbiome bench_stamp.py"
        f.attrs["creation-date"] = "2025-06-15T12:00:00"
        f.attrs["shape"] = np.array([n_obs, n_samples], dtype=np.int32)
        f.attrs["nnz"] = nnz
        for axis, (_, n_minor, ids) in {
            "observation": (n_obs, n_samples, obs_ids),
            "sample": (n_samples, n_obs, sample_ids),
        }.items():
            g = f.create_group(axis)
            g.create_group("metadata")
            g.create_group("group-metadata")
            g.create_dataset("ids", data=[s.encode() for s in ids], dtype=vlen)
            m = g.create_group("matrix")
            data = m.create_dataset("data", shape=(nnz,), dtype=np.float64)
            indices = m.create_dataset("indices", shape=(nnz,), dtype=np.int32)
            m.create_dataset("indptr", data=np.arange(0, nnz + 1, n_minor, dtype=np.int64)
                             .astype(np.int32) if nnz < 2**31 else None)
            for start in range(0, nnz, chunk):
                k = np.arange(start, min(nnz, start + chunk), dtype=np.int64)
                major, minor = np.divmod(k, n_minor)
                i, j = (major, minor) if axis == "observation" else (minor, major)
                data[start:start + len(k)] = ((31 * i + 17 * j) % 97 + 1).astype(np.float64)
                indices[start:start + len(k)] = minor.astype(np.int32)
    return n_obs, n_samples, sample_ids


# Runs in a fresh, small interpreter: fork, exec the command, wait4 for its rusage. Linux keeps
# the parent's resident high-water mark in ru_maxrss across exec, so the command must be forked
# from a small process rather than from this one (which holds the table generator's buffers).
_LAUNCHER = """
import os, sys, time
t0 = time.perf_counter()
pid = os.fork()
if pid == 0:
    fd = os.open(os.devnull, os.O_WRONLY)
    os.dup2(fd, 1); os.dup2(fd, 2)
    try:
        os.execvp(sys.argv[1], sys.argv[1:])
    finally:
        os._exit(127)
_, status, usage = os.wait4(pid, 0)
print(time.perf_counter() - t0, usage.ru_maxrss, os.waitstatus_to_exitcode(status))
"""


def timed(cmd: list[str], env: dict[str, str] | None = None) -> tuple[float, int, int]:
    """Run ``cmd``; return (wall seconds, peak RSS in MB of that child, exit code)."""
    out = subprocess.run([sys.executable, "-S", "-c", _LAUNCHER, *cmd], env=env,
                         capture_output=True, text=True, check=True).stdout.split()
    return float(out[0]), int(out[1]) // 1024, int(out[2])


def run_size(size_mb: float, workdir: Path, repeats: int) -> dict[str, tuple[float, int]]:
    import yaml

    from soilbiome.sharing import generate_key, rewrite_trusted_keys
    from soilbiome.sharing.agreement import read_yaml

    d = workdir / f"{size_mb:g}MB"
    d.mkdir()
    table = d / "table.biom"
    t0 = time.perf_counter()
    _, n_samples, sample_ids = write_biom(table, size_mb)
    gen = time.perf_counter() - t0
    real_mb = table.stat().st_size / 1024 / 1024
    key = generate_key(d / "bench.key")
    data, _ = read_yaml(OPEN_EXAMPLE)
    data["datasets"][0]["samples"]["sample_ids"] = sample_ids
    (d / "ag0.yaml").write_text(yaml.safe_dump(data, sort_keys=False))
    agreement = rewrite_trusted_keys(d / "ag0.yaml", d / "agreement.yaml",
                                     [(key, "provider-cl")])
    stamped = d / "stamped.biom"
    cli = [sys.executable, "-m", "soilbiome"]
    env = {**os.environ, "SOILBIOME_SIGNING_KEY": key.private_key_path}
    cmds = {
        "sha256sum": ["sha256sum", str(table)],
        "stamp": [*cli, "stamp", str(table), "--agreement", str(agreement), "-o", str(stamped)],
        "verify": [*cli, "verify", str(stamped), "--agreement", str(agreement)],
    }
    print(f"\n{real_mb:.0f} MB table ({n_samples} samples), generated in {gen:.1f} s",
          flush=True)
    subprocess.run(["cat", str(table)], stdout=subprocess.DEVNULL, check=True)  # warm cache
    results: dict[str, tuple[float, int]] = {}
    for name, cmd in cmds.items():
        walls, rss = [], 0
        for _ in range(repeats):
            wall, peak, code = timed(cmd, env)
            if name != "verify" and code != 0:
                raise SystemExit(f"{name} failed with exit code {code}")
            walls.append(wall)
            rss = max(rss, peak)
        results[name] = (sorted(walls)[len(walls) // 2], rss)
    base = results["sha256sum"][0]
    print(f"{'step':<10}{'wall s':>9}{'MB/s':>9}{'x sha256sum':>13}{'peak RSS MB':>13}")
    for name, (wall, rss) in results.items():
        print(f"{name:<10}{wall:>9.2f}{real_mb / wall:>9.0f}{wall / base:>13.2f}{rss:>13}")
    shutil.rmtree(d)
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size-mb", type=float, default=400, help="large table (default 400)")
    parser.add_argument("--small-mb", type=float, default=50,
                        help="small table, the memory baseline (default 50)")
    parser.add_argument("--repeats", type=int, default=1, help="runs per step (median wall)")
    parser.add_argument("--tmpdir", type=Path, default=None, help="where to generate (temp)")
    args = parser.parse_args()
    free = shutil.disk_usage(args.tmpdir or tempfile.gettempdir()).free / 1024 / 1024
    if free < 2.5 * args.size_mb:
        raise SystemExit(f"need ~{2.5 * args.size_mb:.0f} MB free, have {free:.0f} MB")
    with tempfile.TemporaryDirectory(dir=args.tmpdir, prefix="soilbiome-bench-") as tmp:
        small = run_size(args.small_mb, Path(tmp), args.repeats)
        big = run_size(args.size_mb, Path(tmp), args.repeats)
    print("\nsummary: stamp {:.2f}x, verify {:.2f}x sha256sum; peak RSS stamp {} -> {} MB, "
          "verify {} -> {} MB ({:g} MB -> {:g} MB table)".format(
              big["stamp"][0] / big["sha256sum"][0], big["verify"][0] / big["sha256sum"][0],
              small["stamp"][1], big["stamp"][1], small["verify"][1], big["verify"][1],
              args.small_mb, args.size_mb))


if __name__ == "__main__":
    main()
