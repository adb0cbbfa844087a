"""Property tests of every reader we own: BIOM (the reader and its streaming check), samplesheet,
database sheet, agreement, request, each profiler format, FASTQ and distance blocks.

Arbitrary bytes and mutated valid files give either a result or a
:class:`~soilbiome.errors.SoilbiomeError` (the CLI's one ``soilbiome: error:`` line), never
another exception, within a time bound (hypothesis deadline) and a memory bound (tracemalloc
peak); generated valid inputs (BIOM matrices, FASTQ records, block values) give the correct
result."""

from __future__ import annotations

import gzip
import tracemalloc
from pathlib import Path

import h5py
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from soilbiome.diversity.block_file import read_block, write_block
from soilbiome.errors import SoilbiomeError
from soilbiome.io.biom_reader import check_table, read_table
from soilbiome.io.fastq import check_sample
from soilbiome.io.profiler_names import PROFILERS
from soilbiome.io.profiles import read_profile
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


# -- the streaming check agrees with the reader --------------------------------------------------
def _same_verdict(path: Path) -> None:
    """:func:`check_table` (streaming, what stamp signs) accepts exactly what
    :func:`read_table` accepts, with the same IDs and value kind."""
    try:
        full = read_table(path)
    except SoilbiomeError as exc:
        with pytest.raises(SoilbiomeError) as streamed:
            check_table(path)
        assert str(streamed.value) == str(exc)
        return
    outline = check_table(path)
    assert (outline.sample_ids, outline.feature_ids, outline.value_kind) == \
        (full.sample_ids, full.feature_ids, full.value_kind)


@SETTINGS
@given(edits=EDITS, dataset=st.sampled_from(["sample/matrix/data", "observation/matrix/data",
                                             "sample/matrix/indices",
                                             "observation/matrix/indices"]),
       at=st.integers(0, 1 << 10), value=st.one_of(st.integers(0, 60),
                                                    st.floats(0, 60, allow_nan=False)))
def test_streaming_check_agrees_with_the_reader(tmp_path_factory, edits, dataset: str, at: int,
                                                value) -> None:  # noqa: ANN001
    folder = tmp_path_factory.mktemp("stream")
    table = make_biom(folder / "t.biom", ["S1", "S2", "S3"], compress=True)
    with h5py.File(table, "r+") as f:  # one stored value or index changed in one orientation
        ds = f[dataset]
        ds[at % len(ds)] = value
    _same_verdict(table)
    good = make_biom(folder / "g.biom", ["S1", "S2", "S3"])
    good.write_bytes(_mutate(good.read_bytes(), edits))
    _same_verdict(good)


@settings(max_examples=30, deadline=5000, derandomize=True, database=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(cells=st.lists(st.tuples(st.integers(0, 7), st.integers(0, 4), st.integers(1, 10**9)),
                      min_size=1, max_size=30, unique_by=lambda c: (c[0], c[1])))
def test_biom_reader_returns_what_was_written(tmp_path_factory, cells) -> None:  # noqa: ANN001
    """A correct result: any sparse count matrix written by biom-format reads back exactly."""
    import biom

    dense = np.zeros((8, 5))
    for row, col, value in cells:
        dense[row, col] = value
    obs, samples = [f"F{i}" for i in range(8)], [f"S{j}" for j in range(5)]
    path = tmp_path_factory.mktemp("rt") / "t.biom"
    with h5py.File(path, "w") as f:
        biom.Table(dense, obs, samples, type="OTU table").to_hdf5(f, "property test")
    table = read_table(path)
    assert table.sample_ids == tuple(samples) and table.feature_ids == tuple(obs)
    np.testing.assert_array_equal(table.counts.toarray(), dense.T)
    assert check_table(path).value_kind == table.value_kind == "counts"


# -- profiler outputs ------------------------------------------------------------------------------
def _profile_seeds() -> dict[str, tuple[str, bytes]]:
    """One valid test file per profiler (its first 40 lines): name -> (file name, bytes)."""
    seeds = {}
    for profiler in PROFILERS:
        folder = PROFILES / profiler
        path = sorted(p for p in folder.iterdir() if "invalid" not in p.name.lower())[0]
        raw = gzip.decompress(path.read_bytes()) if path.suffix == ".gz" else path.read_bytes()
        name = path.name[:-3] if path.suffix == ".gz" else path.name
        seeds[profiler] = (name, b"".join(raw.splitlines(keepends=True)[:40]))
    return seeds


PROFILES = ROOT / "assets" / "test-data" / "profiler_outputs"
SEEDS = _profile_seeds()


@SETTINGS
@given(data=st.binary(max_size=2048))
def test_profile_readers_on_arbitrary_bytes(tmp_path_factory, data: bytes) -> None:
    folder = tmp_path_factory.mktemp("profile_bytes")
    for profiler, (name, _) in SEEDS.items():
        path = folder / name
        path.write_bytes(data)
        _only_clean_errors(lambda p, tool=profiler: read_profile(tool, p), path)


@SETTINGS
@given(edits=EDITS)
def test_mutated_profiles(tmp_path_factory, edits) -> None:  # noqa: ANN001
    folder = tmp_path_factory.mktemp("profiles")
    for profiler, (name, seed) in SEEDS.items():
        path = folder / name
        path.write_bytes(_mutate(seed, edits))
        _only_clean_errors(lambda p, tool=profiler: _profile_values(tool, p), path)


def _profile_values(profiler: str, path: Path) -> None:
    """A profile that is read has finite, non-negative values (never NaN or negative)."""
    profile = read_profile(profiler, path)
    values = [*profile.values.values(), profile.unclassified]
    assert all(np.isfinite(v) and v >= 0 for v in values), profile


#: Numeric-looking text a number parser may take (float() accepts "nan", "1_000", "١٢").
NUMERIC_TOKENS = st.sampled_from([
    "nan", "NaN", "inf", "-inf", "-1", "-0", "1e400", "1e300", "1e13", "0x10", "", " ",
    "1_000", "\u0661\u0662", "1,5", "+3", "3.", ".5", "1e-400", "99999999999999999999999",
    "4.2e12", "\u00a012"])


@settings(max_examples=40, deadline=5000, derandomize=True, database=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(line=st.integers(0, 39), field=st.integers(0, 12), token=NUMERIC_TOKENS)
def test_profile_fields_replaced_by_numeric_tokens(tmp_path_factory, line: int, field: int,
                                                   token: str) -> None:
    """One field of one line of each valid profile replaced by tricky numeric text: a clean
    error or a profile whose values are all finite and non-negative."""
    folder = tmp_path_factory.mktemp("tokens")
    for profiler, (name, seed) in SEEDS.items():
        lines = seed.splitlines(keepends=True)
        k = line % len(lines)
        sep = next((s for s in (b"\t", b",", b" ") if s in lines[k]), b"\t")
        parts = lines[k].rstrip(b"\n").split(sep)
        parts[field % len(parts)] = token.encode()
        lines[k] = sep.join(parts) + b"\n"
        path = folder / name
        path.write_bytes(b"".join(lines))
        _only_clean_errors(lambda p, tool=profiler: _profile_values(tool, p), path)


# -- FASTQ -----------------------------------------------------------------------------------------
FASTQ_SEED = gzip.decompress((ROOT / "assets" / "test-data" / "amplicon" / "16s_atacama_soil" /
                              "BAQ2420.2_10_L001_R1_001.fastq.gz").read_bytes())
FASTQ_SEED = b"".join(FASTQ_SEED.splitlines(keepends=True)[:40])


@SETTINGS
@given(edits=EDITS, compress=st.booleans())
def test_mutated_fastq(tmp_path_factory, edits, compress: bool) -> None:  # noqa: ANN001
    folder = tmp_path_factory.mktemp("fastq")
    raw = _mutate(FASTQ_SEED, edits)
    path = folder / ("r.fastq.gz" if compress else "r.fastq")
    path.write_bytes(gzip.compress(raw, mtime=0) if compress else raw)
    _only_clean_errors(lambda p: check_sample("S", p), path)
    # a byte-level mutation of the compressed stream too
    if compress:
        path.write_bytes(_mutate(gzip.compress(FASTQ_SEED, mtime=0), edits))
        _only_clean_errors(lambda p: check_sample("S", p), path)


RECORD = st.tuples(st.text("ACGTN", min_size=1, max_size=60),
                   st.text(alphabet=st.characters(min_codepoint=ord("!"), max_codepoint=ord("J")),
                           min_size=1, max_size=1))


@settings(max_examples=30, deadline=5000, derandomize=True, database=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(records=st.lists(RECORD, max_size=40), paired=st.booleans())
def test_fastq_counts_are_correct(tmp_path_factory, records, paired: bool) -> None:  # noqa: ANN001
    """A correct result: a valid FASTQ (pair) gives exactly its reads and bases."""
    folder = tmp_path_factory.mktemp("fq")

    def write(name: str, mate: int) -> Path:
        text = "".join(f"@r{i} {mate}:N:0:1\n{seq}\n+\n{q * len(seq)}\n"
                       for i, (seq, q) in enumerate(records))
        path = folder / name
        path.write_bytes(gzip.compress(text.encode(), mtime=0))
        return path

    stats = check_sample("S", write("a.fastq.gz", 1), write("b.fastq.gz", 2) if paired else None)
    assert stats.reads == len(records)
    assert stats.bases_r1 == sum(len(s) for s, _ in records)
    assert stats.bases_r2 == (stats.bases_r1 if paired else 0)


# -- distance blocks -------------------------------------------------------------------------------
def _valid_block(folder: Path, values: np.ndarray) -> Path:
    return write_block(folder / "b.npz", values, table_sha256="a" * 64, prepared_sha256="b" * 64,
                       metric="braycurtis", rows=(0, values.shape[0]), cols=(0, values.shape[1]))


@SETTINGS
@given(data=st.binary(max_size=2048), edits=EDITS)
def test_block_reader_on_arbitrary_and_mutated_bytes(tmp_path_factory, data: bytes,
                                                     edits) -> None:  # noqa: ANN001
    folder = tmp_path_factory.mktemp("block")
    path = folder / "x.npz"
    for raw in (data, b"PK\x03\x04" + data, b"\x93NUMPY" + data):
        path.write_bytes(raw)
        _only_clean_errors(read_block, path)
    good = _valid_block(folder, np.array([[0.0, 0.5], [0.5, 0.0]]))
    good.write_bytes(_mutate(good.read_bytes(), edits))
    _only_clean_errors(read_block, good)


@settings(max_examples=40, deadline=5000, derandomize=True, database=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(values=st.lists(st.lists(st.floats(allow_nan=True, allow_infinity=True), min_size=3,
                                max_size=3), min_size=3, max_size=3))
def test_block_values_are_distances_or_refused(tmp_path_factory, values) -> None:  # noqa: ANN001
    """A block with any 3 x 3 values is read back unchanged when every value is a possible
    diagonal distance block (finite, 0..1, zero diagonal, symmetric), else refused."""
    folder = tmp_path_factory.mktemp("blockvalues")
    matrix = np.array(values, dtype=np.float64)
    path = _valid_block(folder, matrix)
    possible = (np.isfinite(matrix).all() and (matrix >= 0).all() and (matrix <= 1).all()
                and (np.diag(matrix) == 0).all() and np.array_equal(matrix, matrix.T))
    if possible:
        np.testing.assert_array_equal(read_block(path).values, matrix)
    else:
        with pytest.raises(SoilbiomeError):
            read_block(path)


@SETTINGS
@given(shape=st.lists(st.integers(0, 1 << 40), min_size=0, max_size=3),
       stored=st.integers(0, 256), descr=st.sampled_from(["<f8", "<i8", "|u1", "<c16"]))
def test_block_member_declaring_any_shape(tmp_path_factory, shape, stored: int,
                                          descr: str) -> None:  # noqa: ANN001
    """A block whose values array declares any shape (up to petabytes) over a few stored
    bytes is refused before anything is allocated (it used to end in MemoryError)."""
    import io
    import zipfile

    folder = tmp_path_factory.mktemp("blockshape")
    good = _valid_block(folder, np.zeros((2, 2)))
    with zipfile.ZipFile(good) as archive:
        members = {name: archive.read(name) for name in archive.namelist()}
    header = io.BytesIO()
    np.lib.format.write_array_header_1_0(header, {"descr": descr, "fortran_order": False,
                                                  "shape": tuple(shape)})
    members["values.npy"] = header.getvalue() + b"\0" * stored
    bad = folder / "bad.npz"
    with zipfile.ZipFile(bad, "w") as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    _only_clean_errors(read_block, bad)
