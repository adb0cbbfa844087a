"""Helpers of the hostile-input catalogue: run the real CLI, check it failed cleanly.

Every case runs ``python -m soilbiome`` in a child process (a native crash shows there as a
negative return code) under an address-space limit and a timeout, then asserts: the exit
code, no Python traceback, one ``soilbiome: error:`` line (or a report) naming the file,
row or field, and an output folder that is unchanged or absent.
"""

from __future__ import annotations

import hashlib
import os
import resource
import subprocess
import sys
from pathlib import Path

import biom
import h5py
import numpy as np

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "sharing_agreements" / "examples"
#: Address-space cap of a child (bytes): a bomb that expands must fail, not swap.
MEMORY_LIMIT = 3 << 30
#: Seconds a child may take: a hang fails the test instead of the suite.
TIME_LIMIT = 120


def _limit() -> None:  # pragma: no cover - runs in the child
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY_LIMIT, MEMORY_LIMIT))


def cli(*args: object, cwd: Path | None = None) -> subprocess.CompletedProcess:
    """Run ``soilbiome ARGS`` in a child process with memory and time limits."""
    env = {**os.environ, "PYTHONUNBUFFERED": "1", "NUMBA_DISABLE_JIT": "0"}
    return subprocess.run(
        [sys.executable, "-m", "soilbiome", *map(str, args)],
        capture_output=True, text=True, timeout=TIME_LIMIT, preexec_fn=_limit, cwd=cwd, env=env,
    )


class Result:
    """What :func:`run` returns: the fields of a CompletedProcess that the asserts use."""

    def __init__(self, returncode: int, stdout: str, stderr: str) -> None:
        self.returncode, self.stdout, self.stderr = returncode, stdout, stderr


def run(*args: object) -> Result:
    """Run ``soilbiome ARGS`` in this process (fast); an uncaught exception is a traceback."""
    import traceback

    from click.testing import CliRunner

    from soilbiome.cli import main

    result = CliRunner().invoke(main, [str(a) for a in args])
    stderr = result.stderr
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        stderr += "Traceback (uncaught):\n" + "".join(
            traceback.format_exception(result.exception))
    return Result(result.exit_code, result.stdout, stderr)


def assert_clean_error(proc: subprocess.CompletedProcess | Result, *needles: str,
                       code: int | None = None) -> str:
    """The command failed with a clean, named error: return its output."""
    out = proc.stdout + proc.stderr
    assert proc.returncode > 0, f"exit {proc.returncode} (signal = native crash):\n{out}"
    if code is not None:
        assert proc.returncode == code, out
    assert "Traceback" not in out, out
    assert "soilbiome: error:" in proc.stderr, out
    for needle in needles:
        assert needle in out, f"{needle!r} not in:\n{out}"
    return out


def assert_report_error(proc: subprocess.CompletedProcess | Result, *needles: str) -> str:
    """A checker (verify, check ...) printed a report with an ERROR and exited 1."""
    out = proc.stdout + proc.stderr
    assert proc.returncode == 1, f"exit {proc.returncode}:\n{out}"
    assert "Traceback" not in out, out
    for needle in needles:
        assert needle in out, f"{needle!r} not in:\n{out}"
    return out


def snapshot(folder: Path) -> dict[str, str]:
    """``relative path -> sha256`` of every file under ``folder`` ({} if absent)."""
    if not folder.exists():
        return {}
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*")) if p.is_file()
    }


def make_biom(path: Path, sample_ids: list[str], *, n_obs: int = 6, seed: int = 3,
              compress: bool = False) -> Path:
    """A small valid BIOM 2.1 table written by biom-format."""
    rng = np.random.default_rng(seed)
    data = rng.integers(0, 40, size=(n_obs, len(sample_ids))).astype(float)
    data[0, :] += 1
    obs = [f"ASV{i}" for i in range(n_obs)]
    md = [{"site": "A" if i % 2 else "B"} for i in range(len(sample_ids))]
    table = biom.Table(data, obs, sample_ids, sample_metadata=md, type="OTU table")
    with h5py.File(path, "w") as f:
        table.to_hdf5(f, generated_by="soilbiome hostile tests", compress=compress)
    return path
