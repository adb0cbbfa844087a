"""Property tests: arbitrary bytes and mutated valid files given to each reader give either a
result or a :class:`~soilbiome.errors.SoilbiomeError` (the CLI's one ``soilbiome: error:``
line), never another exception, within a time bound (hypothesis deadline) and a memory bound
(tracemalloc peak)."""

from __future__ import annotations

import tracemalloc
from pathlib import Path

import h5py
import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from soilbiome.errors import SoilbiomeError
from soilbiome.io.biom_reader import read_table
from soilbiome.io.safe_yaml import load_yaml
from soilbiome.model.samplesheet import load_samplesheet
from soilbiome.refdb import load_refdb
from soilbiome.sharing.agreement import load_agreement, load_request

from .conftest import EXAMPLES, ROOT, make_biom

#: Peak Python allocation a reader may make on one of these small inputs.
MEMORY_BOUND = 64 << 20
SETTINGS = settings(max_examples=60, deadline=5000, derandomize=True, database=None,
                    suppress_health_check=[HealthCheck.function_scoped_fixture,
                                           HealthCheck.too_slow])
SHEET = (ROOT / "assets" / "samplesheets" / "atacama_16s.csv").read_bytes()
REFDB = (ROOT / "assets" / "refdb" / "test_refdb.csv").read_bytes()
AGREEMENT = (EXAMPLES / "open-cc-by.yaml").read_bytes()
REQUEST = (ROOT / "sharing_agreements" / "requests" / "pilot-academic-ch.yaml").read_bytes()


def _mutate(data: bytes, edits: list[tuple[int, int, bytes]]) -> bytes:
    """Apply (position, delete count, insertion) edits to ``data``."""
    out = bytearray(data)
    for pos, delete, insert in edits:
        at = pos % (len(out) + 1)
        out[at:at + delete] = insert
    return bytes(out)


EDITS = st.lists(st.tuples(st.integers(0, 1 << 20), st.integers(0, 8),
                           st.binary(max_size=8)), min_size=1, max_size=6)


def _only_clean_errors(read, path: Path) -> None:  # noqa: ANN001
    tracemalloc.start()
    try:
        read(path)
    except SoilbiomeError as exc:
        assert str(exc).strip()
    finally:
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
    assert peak < MEMORY_BOUND, f"{read.__name__} peaked at {peak} bytes"


def _sheet_reader(path: Path):  # noqa: ANN202
    # relative read paths resolve against the sheet's folder: keep the real test data in reach
    return load_samplesheet(path)


@SETTINGS
@given(data=st.binary(max_size=4096))
def test_readers_on_arbitrary_bytes(tmp_path_factory, data: bytes) -> None:
    folder = tmp_path_factory.mktemp("bytes")
    path = folder / "input"
    path.write_bytes(data)
    for read in (read_table, load_yaml, load_agreement, load_request, load_samplesheet,
                 lambda p: load_refdb(p, "ten16s_sintax", verify=False)):
        _only_clean_errors(read, path)


@SETTINGS
@given(edits=EDITS)
def test_mutated_sheets(tmp_path_factory, edits) -> None:  # noqa: ANN001
    folder = tmp_path_factory.mktemp("sheets")
    # read paths made absolute, so that a mutated sheet still reaches the real read files
    base = ROOT / "assets" / "samplesheets"
    text = SHEET.replace(b"../test-data/", str((base / "../test-data").resolve()).encode() + b"/")
    path = folder / "sheet.csv"
    path.write_bytes(_mutate(text, edits))
    _only_clean_errors(_sheet_reader, path)
    path = folder / "refdb.csv"
    path.write_bytes(_mutate(REFDB, edits))
    _only_clean_errors(lambda p: load_refdb(p, "ten16s_sintax", verify=False), path)


@SETTINGS
@given(edits=EDITS)
def test_mutated_agreements_and_requests(tmp_path_factory, edits) -> None:  # noqa: ANN001
    folder = tmp_path_factory.mktemp("yaml")
    for name, original, read in (("a.yaml", AGREEMENT, load_agreement),
                                 ("r.yaml", REQUEST, load_request)):
        path = folder / name
        path.write_bytes(_mutate(original, edits))
        _only_clean_errors(read, path)


@SETTINGS
@given(edits=EDITS, dataset=st.sampled_from(["sample/matrix/indptr", "sample/matrix/indices",
                                             "sample/matrix/data", "sample/ids",
                                             "observation/ids"]),
       values=st.lists(st.one_of(st.integers(-(1 << 40), 1 << 40),
                                 st.floats(allow_nan=True, allow_infinity=True)),
                       max_size=12))
def test_mutated_biom_tables(tmp_path_factory, edits, dataset: str, values) -> None:  # noqa: ANN001
    folder = tmp_path_factory.mktemp("biom")
    table = make_biom(folder / "t.biom", ["S1", "S2", "S3"], compress=True)
    # structural mutation: one dataset replaced by arbitrary numbers
    with h5py.File(table, "r+") as f:
        del f[dataset]
        f.create_dataset(dataset, data=np.array(values, dtype=np.float64))
    _only_clean_errors(read_table, table)
    # byte mutation of a valid file
    good = make_biom(folder / "g.biom", ["S1", "S2", "S3"], compress=True)
    raw = _mutate(good.read_bytes(), edits)
    good.write_bytes(raw)
    _only_clean_errors(read_table, good)
