"""Class 3: one validated BIOM reader for every command.

Each hostile table goes through every command that reads a table -- ``biom validate``,
``diversity``, ``report``, ``stamp``, ``verify``, ``check merge`` -- and every one of them
refuses it the same way: a clean message naming the file and the problem, nothing written,
nothing signed, the input untouched.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from collections.abc import Callable
from pathlib import Path

import h5py
import numpy as np
import pytest

from .conftest import (
    EXAMPLES,
    assert_clean_error,
    assert_report_error,
    cli,
    make_biom,
    run,
    snapshot,
)

SAMPLES = ["BAQ2420.2", "BAQ3473.2", "YUN1242.1", "BLANK"]  # covered by open-cc-by.yaml


def _edit(path: Path, name: str, change: Callable[[np.ndarray], np.ndarray]) -> None:
    with h5py.File(path, "r+") as f:
        values = change(f[name][()])
        del f[name]
        f.create_dataset(name, data=values)


def corrupt_indptr(p: Path) -> None:
    _edit(p, "sample/matrix/indptr", lambda a: np.concatenate([[0], a[1:][::-1]]))


def index_out_of_range(p: Path) -> None:
    _edit(p, "sample/matrix/indices", lambda a: np.where(np.arange(len(a)) == 0, 10_000, a))


def nan_count(p: Path) -> None:
    _edit(p, "sample/matrix/data", lambda a: np.where(np.arange(len(a)) == 1, np.nan, a))


def negative_count(p: Path) -> None:
    _edit(p, "sample/matrix/data", lambda a: np.where(np.arange(len(a)) == 2, -5.0, a))


def negative_in_observation_matrix_only(p: Path) -> None:
    """A negative count in the observation-major copy only: the sample-major one is sound."""
    _edit(p, "observation/matrix/data", lambda a: np.where(np.arange(len(a)) == 2, -5.0, a))


def changed_in_observation_matrix_only(p: Path) -> None:
    """A plausible count changed in one orientation only: each copy alone looks sound."""
    _edit(p, "observation/matrix/data", lambda a: np.where(np.arange(len(a)) == 0, a + 7, a))


def absurd_count(p: Path) -> None:
    """1e300 reads, written consistently into both orientations."""
    for name in ("sample/matrix/data", "observation/matrix/data"):
        _edit(p, name, lambda a: np.where(np.arange(len(a)) == 0, 1e300, a))


def duplicate_sample_ids(p: Path) -> None:
    _edit(p, "sample/ids", lambda a: np.array([a[0], a[0], *a[2:]]))


def integer_ids(p: Path) -> None:
    _edit(p, "sample/ids", lambda a: np.arange(len(a)))


def json_biom_1(p: Path) -> None:
    p.write_text(json.dumps({"id": None, "format": "Biological Observation Matrix 1.0.0",
                             "type": "OTU table", "matrix_type": "sparse", "shape": [1, 1],
                             "rows": [{"id": "ASV0"}], "columns": [{"id": "S1"}],
                             "data": [[0, 0, 5]]}))


def empty_file(p: Path) -> None:
    p.write_bytes(b"")


def truncated_hdf5(p: Path) -> None:
    data = p.read_bytes()
    p.write_bytes(data[: len(data) // 3])


def corrupt_chunk(p: Path) -> None:
    with h5py.File(p, "r+") as f:
        del f["sample/matrix/data"]
        f.create_dataset("sample/matrix/data", data=np.arange(1.0, 1.0 + f.attrs["nnz"]),
                         compression="gzip", chunks=True)
    with h5py.File(p, "r") as f:
        info = f["sample/matrix/data"].id.get_chunk_info(0)
    with p.open("r+b") as handle:
        handle.seek(info.byte_offset + 2)
        handle.write(b"\xff" * max(4, info.size - 4))


def size_bomb(p: Path) -> None:
    with h5py.File(p, "r+") as f:
        n = len(f["sample/matrix/data"])
        del f["sample/matrix/data"]
        f.create_dataset("sample/matrix/data", shape=(4_000_000_000,), dtype="f8",
                         chunks=(1 << 16,), compression="gzip")
        f.attrs["nnz"] = n


def no_samples(p: Path) -> None:
    import biom

    table = biom.Table(np.zeros((0, 0)), [], [])
    p.unlink()
    with h5py.File(p, "w") as f:
        table.to_hdf5(f, generated_by="hostile")


CASES = [
    (corrupt_indptr, "indptr is not monotone"),
    (index_out_of_range, "indices out of range"),
    (nan_count, "non-finite value"),
    (negative_count, "negative value"),
    (negative_in_observation_matrix_only, "observation/matrix (CSR): data has a negative value"),
    (changed_in_observation_matrix_only, "the stored matrices disagree in 1 cell(s)"),
    (absurd_count, "implausible value (1e+300, more than 1e+12 reads)"),
    (duplicate_sample_ids, "duplicate sample ID(s): BAQ2420.2"),
    (integer_ids, "not strings"),
    (json_biom_1, "JSON BIOM (format 1.0) is not accepted"),
    (empty_file, "empty file"),
    (truncated_hdf5, ""),
    (corrupt_chunk, "corrupt HDF5 data"),
    (size_bomb, "decompression bomb"),
    (no_samples, "no samples"),
]


@pytest.fixture(scope="module")
def signing(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A throwaway key and a copy of the open agreement that trusts it."""
    work = tmp_path_factory.mktemp("keys")
    key = work / "k.key"
    assert cli("keys", "generate", key).returncode == 0
    agreement = work / "open.yaml"
    proc = cli("keys", "trust", EXAMPLES / "open-cc-by.yaml", "--key", key, "--out", agreement)
    assert proc.returncode == 0, proc.stderr
    return key, agreement


@pytest.mark.parametrize(("corrupt", "needle"), CASES, ids=[c.__name__ for c, _ in CASES])
def test_every_command_refuses_the_table(tmp_path: Path, signing, corrupt, needle: str) -> None:
    key, agreement = signing
    table = make_biom(tmp_path / "t.biom", SAMPLES)
    corrupt(table)
    digest = hashlib.sha256(table.read_bytes()).hexdigest()
    name = str(table)
    validate = cli if corrupt is size_bomb else run  # a bomb runs under the memory cap
    assert_clean_error(validate("biom", "validate", table), name, needle, code=2)

    out = tmp_path / "div"
    # in a child where biom.load_table used to segfault, or a bomb needs the memory cap
    child = corrupt in (corrupt_indptr, index_out_of_range, size_bomb)
    assert_clean_error((cli if child else run)("diversity", table, "--outdir", out),
                       name, needle, code=2)
    assert snapshot(out) == {}

    div = tmp_path / "div_ok"
    div.mkdir()
    html = tmp_path / "r.html"
    assert_clean_error(run("report", "--biom", table, "--diversity", div, "--out", html),
                       name, needle)
    assert not html.exists()

    stamped = tmp_path / "stamped" / "t.biom"
    assert_clean_error(run("stamp", table, "--agreement", agreement, "--key", key,
                           "-o", stamped), name, needle, "not stamping")
    assert snapshot(tmp_path / "stamped") == {}
    assert_clean_error(run("stamp", table, "--agreement", agreement, "--key", key),
                       name, "not stamping")
    assert not (tmp_path / "t.biom.sharing.dsse.json").exists()

    assert_report_error(run("verify", table, "--agreement", agreement), "D1", needle)
    assert_report_error(run("check", "merge", table, "--agreement", agreement), "D1", needle)
    assert_report_error(run("check", "merge", table), "D1", needle)
    assert hashlib.sha256(table.read_bytes()).hexdigest() == digest  # input never touched


def test_uncovered_samples_are_never_signed(tmp_path: Path, signing) -> None:
    key, agreement = signing
    some = make_biom(tmp_path / "some.biom", ["BAQ2420.2", "INTRUDER-1", "INTRUDER-2"])
    none = make_biom(tmp_path / "none.biom", ["X1", "X2"])
    before = snapshot(tmp_path)
    assert_clean_error(run("stamp", some, "--agreement", agreement, "--key", key),
                       str(some), "2 of its 3 sample(s) not covered", "INTRUDER-1")
    assert_clean_error(run("stamp", none, "--agreement", agreement, "--key", key,
                           "-o", tmp_path / "out" / "none.biom"),
                       "covers none of its 2 sample(s)", "X1")
    assert snapshot(tmp_path) == before


def test_a_key_others_can_read_signs_nothing(tmp_path: Path, signing) -> None:
    """Like ssh: a signing key readable or writable by group/others is refused, by name."""
    key, agreement = signing
    table = make_biom(tmp_path / "t.biom", SAMPLES)
    loose = tmp_path / "loose.key"
    shutil.copyfile(key, loose)  # copyfile takes the umask's mode, typically 0644
    for mode in (0o644, 0o660, 0o602):
        loose.chmod(mode)
        before = snapshot(tmp_path)
        assert_clean_error(run("stamp", table, "--agreement", agreement, "--key", loose),
                           str(loose), f"mode {mode:04o}", f"chmod 600 {loose}")
        assert snapshot(tmp_path) == before
    loose.chmod(0o600)
    assert run("stamp", table, "--agreement", agreement, "--key", loose).returncode == 0


def test_a_table_biom_validate_rejects_is_never_signed(tmp_path: Path, signing) -> None:
    """Stamp runs the checks of 'biom validate' beyond the reader (here: attribute 'type')."""
    key, agreement = signing
    table = make_biom(tmp_path / "t.biom", SAMPLES)
    with h5py.File(table, "r+") as f:
        f.attrs["type"] = ""
    assert run("biom", "validate", table).returncode != 0
    before = snapshot(tmp_path)
    assert_clean_error(run("stamp", table, "--agreement", agreement, "--key", key),
                       str(table), "fails 'soilbiome biom validate'", "attribute 'type' is empty",
                       "not stamping")
    assert snapshot(tmp_path) == before


def test_a_valid_table_still_passes_everything(tmp_path: Path, signing) -> None:
    """The reader is strict, not broken: the same commands accept a sound table."""
    key, agreement = signing
    table = make_biom(tmp_path / "t.biom", SAMPLES, compress=True)
    assert cli("diversity", table, "--outdir", tmp_path / "div").returncode == 0
    stamped = tmp_path / "s" / "t.biom"
    proc = run("stamp", table, "--agreement", agreement, "--key", key, "-o", stamped)
    assert proc.returncode == 0, proc.stderr
    proc = run("verify", stamped, "--agreement", agreement)
    assert proc.returncode in (0, 5), proc.stdout  # 5: rules left undecided without a crate
    shutil.copy(stamped, tmp_path / "copy.biom")
