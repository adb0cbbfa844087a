"""Faults leave nothing behind (issue 21): a full disk (``ulimit -f`` in a real shell) or SIGTERM
during ``stamp``, ``compare``, ``export gbif`` and the pipeline's ``publish`` step ends with one
``soilbiome: error:`` line and a non-zero exit (2 for a full disk, 143 for SIGTERM), removes
every temp file and staging folder (hidden ones included) and leaves earlier results
byte-identical.

Every case is a real child process; SIGTERM is sent once the command's own temp file or staging
folder has appeared (polled), so the signal lands while outputs are being written.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from soilbiome.sharing import generate_key, stamp_biom

TODAY = "2025-06-15"
NOW = dt.datetime(2025, 6, 15, 12, 0, tzinfo=dt.UTC)
#: The compare step's raw pandas FutureWarning is issue 21 deliverable 7 (tested elsewhere);
#: here stderr must be exactly the one error line.
ENV = {**os.environ, "PYTHONUNBUFFERED": "1", "PYTHONWARNINGS": "ignore::FutureWarning"}


def _cmd(*args: object) -> list[str]:
    return [sys.executable, "-m", "soilbiome", *map(str, args)]


def _ulimit(kib: int, *args: object, cwd: Path) -> subprocess.CompletedProcess:
    """``soilbiome ARGS`` under ``ulimit -f KIB`` (1024-byte blocks) in bash."""
    script = f'ulimit -f {kib} && exec "$@"'
    return subprocess.run(["bash", "-c", script, "bash", *_cmd(*args)], capture_output=True,
                          text=True, timeout=300, cwd=cwd, env=ENV)


def _terminate_when(args: list[object], cwd: Path, appeared) -> subprocess.CompletedProcess:  # noqa: ANN001
    """Start ``soilbiome ARGS``, send SIGTERM as soon as ``appeared()`` is true, wait."""
    proc = subprocess.Popen(_cmd(*args), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, cwd=cwd, env=ENV)
    deadline = time.monotonic() + 120
    while proc.poll() is None and time.monotonic() < deadline and not appeared():
        time.sleep(0.002)
    assert proc.poll() is None, "the command ended before its temp output appeared"
    proc.send_signal(signal.SIGTERM)
    out, err = proc.communicate(timeout=120)
    return subprocess.CompletedProcess(proc.args, proc.returncode, out, err)


def tree(folder: Path) -> dict[str, str]:
    """Every path under ``folder`` (hidden ones and folders included) -> sha256 or 'dir'."""
    return {str(p.relative_to(folder)): ("dir" if p.is_dir() else
                                         hashlib.sha256(p.read_bytes()).hexdigest())
            for p in sorted(folder.rglob("*"))}


def assert_one_line(proc: subprocess.CompletedProcess, code: int, *needles: str) -> None:
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert proc.returncode == code, f"exit {proc.returncode}:\n{proc.stderr}"
    assert len(lines) == 1, proc.stderr
    assert lines[0].startswith("soilbiome: error: "), proc.stderr
    for needle in needles:
        assert needle in lines[0], lines[0]


def _hidden(folder: Path) -> list[str]:
    return [str(p) for p in folder.rglob(".*")]


@pytest.fixture(scope="module")
def tables(tmp_path_factory: pytest.TempPathFactory) -> dict:
    """Two small stamped Atacama tables (compare inputs) and one larger stamped table
    (40 samples x 500 ASVs, for export gbif and stamp), each with its agreement."""
    from test_compare import _agreement, _table
    from test_diversity import atacama_counts

    tmp = tmp_path_factory.mktemp("faults")
    key = generate_key(tmp / "provider.key")
    comparer = generate_key(tmp / "comparer.key")
    counts, seqs = atacama_counts()
    out = {"tmp": tmp, "key": key.private_key_path, "comparer": comparer.private_key_path}
    a_samples = [s for s in counts.index if s.startswith("BAQ")] + ["BLANK"]
    b_samples = [s for s in counts.index if not s.startswith("BAQ")]
    rng = np.random.default_rng(7)
    big_seqs = {}
    for _ in range(500):
        seq = "".join(rng.choice(list("ACGT"), 100))
        big_seqs[hashlib.md5(seq.encode()).hexdigest()] = seq
    big_samples = [f"BAQ{i:04d}.1" for i in range(40)]
    big = pd.DataFrame(rng.integers(1, 50, size=(40, 500)), index=big_samples,
                       columns=list(big_seqs))
    for name, samples, frame, sequences in (
            ("a", a_samples, counts, seqs), ("b", b_samples, counts, seqs),
            ("big", big_samples, big, big_seqs)):
        ag = _agreement(tmp, name, f"provider-{name}", samples, key, "CC-BY-4.0")
        sub = frame.loc[samples]
        sub = sub.loc[:, sub.sum(axis=0) > 0]
        table = _table(tmp, name, sub, {f: sequences[f] for f in sub.columns})
        stamp_biom(table, ag, key.private_key_path, today=dt.date(2025, 6, 15), now=NOW)
        out[name] = (table, ag)
    return out


def _workspace(tables: dict, tmp_path: Path, *names: str) -> tuple[Path, list[Path]]:
    """Copies of the named tables (with sidecars and agreements) in ``tmp_path/w``."""
    work = tmp_path / "w"
    work.mkdir()
    files = []
    for name in names:
        table, ag = tables[name]
        for src in (table, Path(f"{table}.sharing.dsse.json"), ag):
            shutil.copy(src, work / src.name)
        files += [work / table.name, work / ag.name]
    return work, files


# -- stamp ------------------------------------------------------------------------------------
def _earlier_stamp(tables: dict, table: Path, ag: Path, work: Path) -> None:
    """The earlier result: ``out/t.biom`` and its sidecar, stamped in this process."""
    stamp_biom(table, ag, tables["key"], output=work / "out" / "t.biom",
               today=dt.date(2025, 6, 15), now=NOW)


@pytest.mark.parametrize("room", ["copy", "embed"])
def test_stamp_disk_full(tables: dict, tmp_path: Path, room: str) -> None:
    work, (table, ag) = _workspace(tables, tmp_path, "big")
    args = ["stamp", table, "--agreement", ag, "--key", tables["key"], "-o", "out/t.biom",
            "--today", TODAY]
    _earlier_stamp(tables, table, ag, work)
    before = tree(work)
    # "copy": too small for the copy of the table; "embed": the copy fits, the stamp does not
    kib = 64 if room == "copy" else table.stat().st_size // 1024 + 16
    proc = _ulimit(kib, *args, cwd=work)
    assert_one_line(proc, 2, "disk full writing out/t.biom")
    assert tree(work) == before  # earlier stamped table and sidecar unchanged, no temp file


def test_stamp_sigterm(tables: dict, tmp_path: Path) -> None:
    work, (table, ag) = _workspace(tables, tmp_path, "big")
    args = ["stamp", table, "--agreement", ag, "--key", tables["key"], "-o", "out/t.biom",
            "--today", TODAY]
    _earlier_stamp(tables, table, ag, work)
    before = tree(work)
    proc = _terminate_when(args, work, lambda: any((work / "out").glob(".t.biom.*.tmp")))
    assert_one_line(proc, 143, "stopped by SIGTERM", "temporary files removed")
    assert tree(work) == before
    assert _hidden(work / "out") == []


# -- compare ----------------------------------------------------------------------------------
def _compare_args(tables: dict, work: Path) -> list[object]:
    return ["compare", work / "a.biom", work / "b.biom", "--agreement", work / "a.yaml",
            "--agreement", work / "b.yaml", "--group", "site", "--out", work / "cmp",
            "--key", tables["comparer"], "--today", TODAY, "--permutations", "99",
            "--rarefaction-depth", "97"]


@pytest.mark.parametrize(("kib", "file"), [(100, "merged.biom"), (2000, "report.html")])
def test_compare_disk_full(tables: dict, tmp_path: Path, kib: int, file: str) -> None:
    # biom-format's HDF5 writer used to end in SIGSEGV (exit 139) on a short write
    work, _ = _workspace(tables, tmp_path, "a", "b")
    before = tree(work)
    proc = _ulimit(kib, *_compare_args(tables, work), cwd=work)
    assert_one_line(proc, 2, f"disk full writing {work / 'cmp' / file}")
    assert tree(work) == before  # no cmp/, no hidden staging folder, inputs unchanged


def test_compare_sigterm(tables: dict, tmp_path: Path) -> None:
    work, _ = _workspace(tables, tmp_path, "a", "b")
    before = tree(work)
    proc = _terminate_when(_compare_args(tables, work), work,
                           lambda: any(work.glob(".cmp.*")))
    assert_one_line(proc, 143, "stopped by SIGTERM")
    assert tree(work) == before


# -- export gbif ------------------------------------------------------------------------------
def _export_args(work: Path) -> list[object]:
    return ["export", "gbif", work / "big.biom", "--agreement", work / "big.yaml", "--out",
            work / "gbif", "--today", TODAY]


def test_export_gbif_disk_full(tables: dict, tmp_path: Path) -> None:
    work, _ = _workspace(tables, tmp_path, "big")
    before = tree(work)
    proc = _ulimit(256, *_export_args(work), cwd=work)
    assert_one_line(proc, 2, f"disk full writing {work / 'gbif'}")
    assert tree(work) == before


def test_export_gbif_sigterm(tables: dict, tmp_path: Path) -> None:
    work, _ = _workspace(tables, tmp_path, "big")
    before = tree(work)
    proc = _terminate_when(_export_args(work), work, lambda: any(work.glob(".gbif.*")))
    assert_one_line(proc, 143, "stopped by SIGTERM")
    assert tree(work) == before


# -- the pipeline's publish step -----------------------------------------------------------------
def _publish_setup(tmp_path: Path, size: int) -> tuple[Path, list[object]]:
    staging, results = tmp_path / "staging", tmp_path / "results"
    staging.mkdir()
    (results / "biom").mkdir(parents=True)
    (staging / "params.json").write_text('{"new": true}\n')
    with open(staging / "asv_table.biom", "wb") as fh:
        fh.write(os.urandom(size))
    (staging / "asv_table.biom.sharing.dsse.json").write_text('{"new": "sidecar"}\n')
    for name in ("asv_table.biom", "asv_table.biom.sharing.dsse.json"):
        (results / "biom" / name).write_text(f"earlier {name}\n")
    args: list[object] = ["publish"]
    for src, dest in (("params.json", "pipeline_info/params.json"),
                      ("asv_table.biom", "biom/asv_table.biom"),
                      ("asv_table.biom.sharing.dsse.json",
                       "biom/asv_table.biom.sharing.dsse.json")):
        args += ["--copy", staging / src, results / dest]
    return results, args


def test_publish_disk_full(tmp_path: Path) -> None:
    results, args = _publish_setup(tmp_path, 400_000)
    before = tree(results)
    proc = _ulimit(200, *args, cwd=tmp_path)
    assert_one_line(proc, 2, f"disk full writing {results / 'biom' / 'asv_table.biom'}")
    assert tree(results) == before  # params.json was copied first, but is not published alone
    ok = subprocess.run(_cmd(*args), capture_output=True, text=True, cwd=tmp_path, env=ENV)
    assert ok.returncode == 0, ok.stderr
    assert (results / "pipeline_info" / "params.json").read_text() == '{"new": true}\n'
    assert _hidden(results) == []


def test_publish_sigterm(tmp_path: Path) -> None:
    results, args = _publish_setup(tmp_path, 64 << 20)
    before = tree(results)
    proc = _terminate_when(args, tmp_path,
                           lambda: any((results / "biom").glob(".asv_table.biom.*.tmp")))
    assert_one_line(proc, 143, "stopped by SIGTERM")
    assert tree(results) == before


def test_publish_refuses_a_folder_in_a_target_s_place_before_any_copy(tmp_path: Path) -> None:
    """A folder where the last file goes: refused before the first file is renamed into place
    (the targets appear together or not at all)."""
    results, args = _publish_setup(tmp_path, 1000)
    (results / "biom" / "asv_table.biom.sharing.dsse.json").unlink()
    (results / "biom" / "asv_table.biom.sharing.dsse.json").mkdir()
    before = tree(results)
    proc = subprocess.run(_cmd(*args), capture_output=True, text=True, cwd=tmp_path, env=ENV)
    assert_one_line(proc, 2, "a folder is in the way of the file to publish there")
    assert tree(results) == before and not (results / "pipeline_info").exists()
    (results / "biom" / "asv_table.biom.sharing.dsse.json").rmdir()
    (results / "biom" / "asv_table.biom.sharing.dsse.json").write_text("earlier sidecar\n")
    before = tree(results)
    twice = args + ["--copy", tmp_path / "staging" / "params.json", args[-1]]
    proc = subprocess.run(_cmd(*twice), capture_output=True, text=True, cwd=tmp_path, env=ENV)
    assert_one_line(proc, 2, "two files to publish to the same place")
    assert tree(results) == before


def test_publish_missing_table_is_an_error_records_optional(tmp_path: Path) -> None:
    """A stamped table that is not there stops publishing (nothing is published); a record a
    run makes only sometimes (--if-present) is skipped when absent."""
    results, args = _publish_setup(tmp_path, 1000)
    (tmp_path / "staging" / "asv_table.biom").unlink()
    before = tree(results)
    proc = subprocess.run(_cmd(*args), capture_output=True, text=True, cwd=tmp_path, env=ENV)
    assert_one_line(proc, 2, "file to publish does not exist")
    assert str(tmp_path / "staging" / "asv_table.biom") in proc.stderr
    assert tree(results) == before
    optional = ["--if-present", tmp_path / "staging" / "host_database.json",
                results / "pipeline_info" / "host_database.json"]
    ok = subprocess.run(_cmd(*(args[:4] + optional)), capture_output=True, text=True,
                        cwd=tmp_path, env=ENV)
    assert ok.returncode == 0 and "published 1 file(s)" in ok.stdout, ok.stderr
    assert not (results / "pipeline_info" / "host_database.json").exists()


# -- HDF5 failing mid-write (beta assemble) --------------------------------------------------------
@pytest.mark.parametrize("guard", ["room checked", "room check removed"])
def test_beta_assemble_disk_full(tables: dict, tmp_path: Path, guard: str) -> None:
    """``beta assemble`` writes an n x n HDF5 matrix to disk. The room is reserved first;
    with that check removed (second case) HDF5 itself fails mid-write, which used to print
    tracebacks from h5py's destructors and end in SIGSEGV at exit: still one line, exit 2."""
    from click.testing import CliRunner

    from soilbiome.cli import main

    work, (table, _) = _workspace(tables, tmp_path, "big")
    rare = ["--rarefaction-depth", "500", "--seed", "5"]
    for args in (["beta", "plan", table, "--blocks", "1", "--out", work / "plan.csv", *rare],
                 ["beta", "block", table, "--metric", "braycurtis", "--rows", "0:40",
                  "--cols", "0:40", "--out", work / "b.npz", *rare]):
        done = CliRunner().invoke(main, [str(a) for a in args])
        assert done.exit_code == 0, done.output
    before = tree(work)
    args = ["beta", "assemble", table, work / "b.npz", "--metric", "braycurtis", "--out",
            work / "d.h5", "--plan", work / "plan.csv", *rare]
    if guard == "room checked":
        proc = _ulimit(8, *args, cwd=work)
    else:
        code = ("import sys; import soilbiome.diversity.blocks as b; "
                "b.ensure_room = lambda *a: None; from soilbiome.cli import main; "
                "main(sys.argv[1:], prog_name='soilbiome')")
        script = 'ulimit -f 8 && exec "$@"'
        proc = subprocess.run(["bash", "-c", script, "bash", sys.executable, "-c", code,
                               *map(str, args)], capture_output=True, text=True, cwd=work,
                              env=ENV, timeout=300)
    assert_one_line(proc, 2, f"disk full writing {work / 'd.h5'}")
    assert tree(work) == before
