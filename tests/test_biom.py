"""BIOM 2.1 build and validation: real counts, real SINTAX lineages, biom-format, phyloseq.

Counts are exact-sequence ASVs of the real Atacama soil reads (R1) per sample, the empty BLANK
sample included; lineages come from a real ``vsearch --sintax`` run; sample metadata from the
bundled Atacama samplesheet validated by ``soilbiome``.
"""

from __future__ import annotations

import collections
import csv
import datetime as dt
import gzip
import json
import shutil
import subprocess
import sys
from pathlib import Path

import biom
import h5py
import numpy as np
import pytest
from click.testing import CliRunner

from soilbiome import __version__
from soilbiome.cli import main
from soilbiome.io.biom import (
    BiomError,
    build_biom,
    pad_empty_samples,
    read_counts,
    taxonomy_strings,
    validate_biom,
)
from soilbiome.model.samplesheet import MIXS_REQUIRED, load_samplesheet
from soilbiome.taxonomy import RANKS, feature_id_for, harmonise, read_lineage, write_lineage

ROOT = Path(__file__).resolve().parents[1]
TESTDATA = ROOT / "assets" / "test-data"
SHEET = ROOT / "assets" / "samplesheets" / "atacama_16s.csv"
SINTAX_16S = TESTDATA / "refdb" / "16s_sintax_ten16s.fa.gz"
BIOM_CLI = Path(sys.executable).parent / "biom"
#: An extra samplesheet column whose name R's check.names would mangle (to X16s_primer).
EXTRA_COLUMN = "16s_primer"

needs_vsearch = pytest.mark.skipif(shutil.which("vsearch") is None, reason="vsearch not found")
needs_r = pytest.mark.skipif(shutil.which("Rscript") is None, reason="Rscript not found")


def _r1_sequences(path: Path) -> list[str]:
    with gzip.open(path, "rt") as handle:
        return [line.strip() for i, line in enumerate(handle) if i % 4 == 1]


@pytest.fixture(scope="module")
def inputs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """asv_counts.tsv, lineage.tsv and a validated samplesheet, all from real data."""
    if shutil.which("vsearch") is None:
        pytest.skip("vsearch not found")
    work = tmp_path_factory.mktemp("biom")
    sheet = load_samplesheet(SHEET)
    valid = work / "valid.csv"
    sheet.write_normalised(valid)
    with valid.open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    for row in rows:
        row[EXTRA_COLUMN] = "515F/806R (EMP)"
    with valid.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=[*rows[0].keys()])
        writer.writeheader()
        writer.writerows(rows)

    per_sample = {r.sample: collections.Counter(_r1_sequences(r.fastq_1)) for r in sheet.rows}
    total = sum(per_sample.values(), collections.Counter())
    asvs = [seq for seq, n in total.most_common() if n >= 2]
    counts = work / "asv_counts.tsv"
    samples = list(reversed(per_sample))  # counts column order differs from the sheet's
    with counts.open("w") as handle:
        handle.write("\t".join(["feature_id", "sequence", *samples]) + "\n")
        for seq in asvs:
            values = [str(per_sample[s][seq]) for s in samples]
            handle.write("\t".join([feature_id_for(seq), seq, *values]) + "\n")

    fasta = work / "asv.fa"
    fasta.write_text("".join(f">{feature_id_for(s)}\n{s}\n" for s in asvs))
    sintax = work / "sintax.tsv"
    subprocess.run(
        ["vsearch", "--sintax", str(fasta), "--db", str(SINTAX_16S), "--tabbedout", str(sintax),
         "--sintax_cutoff", "0.8", "--randseed", "1", "--threads", "1", "--quiet"],
        check=True, capture_output=True,
    )  # fmt: skip
    lineage = work / "lineage.tsv"
    write_lineage(harmonise("sintax", sintax, reference="ten16s TAXXI"), lineage)
    return {"counts": counts, "lineage": lineage, "sheet": valid, "work": work}


@pytest.fixture(scope="module")
def table_path(inputs: dict[str, Path]) -> Path:
    out = inputs["work"] / "out" / "table.biom"
    result = CliRunner().invoke(
        main,
        ["biom", "build", "--counts", str(inputs["counts"]), "--lineage", str(inputs["lineage"]),
         "--samplesheet", str(inputs["sheet"]), "--out", str(out), "--table-id", "atacama"],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "empty sample(s) kept: BLANK" in result.stdout
    assert f"will rename sample metadata column(s) {EXTRA_COLUMN}" in result.stderr
    return out


@pytest.fixture
def table_copy(table_path: Path, tmp_path: Path) -> Path:
    dest = tmp_path / "t.biom"
    shutil.copy(table_path, dest)
    return dest


# ---------------------------------------------------------------------------------- building


@needs_vsearch
def test_build_is_valid_for_biom_format_and_us(table_path: Path) -> None:
    proc = subprocess.run(
        [str(BIOM_CLI), "validate-table", "-i", str(table_path)], capture_output=True, text=True
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "is a valid BIOM-formatted file" in proc.stdout
    assert validate_biom(table_path) == []
    result = CliRunner().invoke(main, ["biom", "validate", str(table_path)])
    assert result.exit_code == 0 and "valid BIOM 2.1 table" in result.output
    assert sorted(p.name for p in table_path.parent.iterdir()) == ["table.biom"]


@needs_vsearch
def test_reader_builds_the_metadata_frames_only_when_read(table_path: Path) -> None:
    """read_table checks everything at once but builds the taxonomy and sample-metadata
    frames on first read (pandas is 0.2 s of a `beta matrix` start-up); they are built once,
    equal biom-format's view of the file, and a table's default frames are empty."""
    script = (
        "import sys\n"
        "from soilbiome.io.biom_reader import read_table\n"
        "from soilbiome.model.table import FeatureTable\n"
        "t = read_table(sys.argv[1])\n"
        "assert t.counts.nnz > 0 and 'pandas' not in sys.modules\n"
        "tax, md = t.taxonomy, t.sample_metadata\n"
        "assert t.taxonomy is tax and t.sample_metadata is md\n"
        "empty = FeatureTable(t.sample_ids, t.feature_ids, t.counts)\n"
        "assert empty.taxonomy.empty and empty.sample_metadata.empty\n"
        "print(tax.shape, md.shape, list(md.index) == list(t.sample_ids), tax.index.name)\n")
    proc = subprocess.run([sys.executable, "-c", script, str(table_path)], capture_output=True,
                          text=True)
    assert proc.returncode == 0, proc.stderr
    table = biom.load_table(str(table_path))
    n_md = len(table.metadata(axis="sample")[0])
    assert proc.stdout.split() == [
        f"({len(table.ids('observation'))},", f"{len(RANKS)})", f"({len(table.ids())},",
        f"{n_md})", "True", "feature"]


@needs_vsearch
def test_build_content_round_trips_through_biom_format(
    table_path: Path, inputs: dict[str, Path]
) -> None:
    table = biom.load_table(str(table_path))
    counts = read_counts(inputs["counts"])
    lineages = read_lineage(inputs["lineage"])
    sheet_samples = [r.sample for r in load_samplesheet(SHEET).rows]
    assert list(table.ids()) == sheet_samples  # sheet order, every sample
    assert list(table.ids("observation")) == list(counts.feature_ids)
    assert table.type == "OTU table" and table.table_id == "atacama"
    for sample in sheet_samples:
        expected = counts.matrix[:, counts.sample_ids.index(sample)]
        assert np.array_equal(table.data(sample, dense=True), expected)
    # empty sample kept with zero counts
    assert "BLANK" in table.ids() and table.data("BLANK", dense=True).sum() == 0
    # observation metadata: Greengenes-style taxonomy, per-rank confidence, sequence
    for fid, seq in zip(counts.feature_ids, counts.sequences, strict=True):
        md = table.metadata(fid, axis="observation")
        lineage = lineages[fid]
        assert md["taxonomy"] == taxonomy_strings(lineage.names)
        assert md["sequence"] == seq and feature_id_for(md["sequence"]) == fid
        for rank, conf in zip(RANKS, lineage.confidences, strict=True):
            assert md[f"confidence_{rank}"] == ("" if conf is None else f"{round(conf, 4):g}")
        assert md["classifier"] == "vsearch-sintax" and md["reference"] == "ten16s TAXXI"
    # sample metadata: every sheet column but reads
    md = table.metadata("BAQ3473.2")
    assert set(md) == {"site", "run", "sample_type", *MIXS_REQUIRED, "metadata_note", EXTRA_COLUMN}
    assert md["lat_lon"] == "23.33 S 69.85 W" and md["depth"] == "0-10 cm"
    assert table.metadata("BLANK")["env_medium"] == "missing: control sample"
    with h5py.File(table_path, "r") as handle:
        assert handle.attrs["generated-by"] == f"soilbiome {__version__}"
        stamp = dt.datetime.fromisoformat(handle.attrs["creation-date"])
        assert stamp.tzinfo is None
        assert handle["observation/metadata/taxonomy"].shape == (
            len(counts.feature_ids), len(RANKS)
        )


@needs_vsearch
@pytest.mark.parametrize(
    ("case", "pattern"),
    [
        ("extra_sample", r"asv_counts.tsv: sample\(s\) not in samplesheet .*valid.csv: EXTRA1"),
        ("missing_sample", r"valid.csv: sample\(s\) missing from counts .*: BLANK"),
        ("no_lineage", r"lineage.tsv: no lineage row for 1 feature\(s\) of .*: [0-9a-f]{32}"),
        ("id_mismatch", r"asv_counts.tsv: line 3: feature_id 0{32} does not match its sequence"),
    ],
)
def test_build_errors_name_file_and_id_and_leave_nothing(
    inputs: dict[str, Path], tmp_path: Path, case: str, pattern: str
) -> None:
    counts, lineage = tmp_path / "asv_counts.tsv", tmp_path / "lineage.tsv"
    c_lines = inputs["counts"].read_text().splitlines()
    l_lines = inputs["lineage"].read_text().splitlines()
    if case == "extra_sample":
        c_lines = [c_lines[0] + "\tEXTRA1"] + [line + "\t0" for line in c_lines[1:]]
    elif case == "missing_sample":
        header = c_lines[0].split("\t")
        drop = header.index("BLANK")
        c_lines = ["\t".join(f for i, f in enumerate(line.split("\t")) if i != drop)
                   for line in c_lines]  # fmt: skip
    elif case == "no_lineage":
        l_lines = [line for line in l_lines if not line.startswith(c_lines[5].split("\t")[0])]
    elif case == "id_mismatch":
        c_lines[2] = "0" * 32 + c_lines[2][32:]
    counts.write_text("\n".join(c_lines) + "\n")
    lineage.write_text("\n".join(l_lines) + "\n")
    out = tmp_path / "out" / "table.biom"
    with pytest.raises(BiomError, match=pattern):
        build_biom(counts, lineage, inputs["sheet"], out)
    result = CliRunner().invoke(
        main,
        ["biom", "build", "--counts", str(counts), "--lineage", str(lineage),
         "--samplesheet", str(inputs["sheet"]), "--out", str(out)],
    )  # fmt: skip
    assert result.exit_code == 2
    assert result.output.startswith("soilbiome: error:")
    assert not out.parent.exists() or list(out.parent.iterdir()) == []


@needs_vsearch
def test_versions_fill_the_method_version_and_are_read_only_with_a_context(
    inputs: dict[str, Path], tmp_path: Path
) -> None:
    """--versions go with --context (alone they were ignored); a malformed one is refused
    even when the context already names its method version; 1.26 stays text."""
    from soilbiome.io.biom_reader import read_table

    context = tmp_path / "context.json"
    context.write_text(json.dumps({"marker": "16S", "method": "DADA2"}))
    versions = tmp_path / "versions.yml"
    versions.write_text('"AMPLICON:DADA2":\n    dada2: 1.26.0\n    r: 4.2\n')
    base = ["biom", "build", "--counts", str(inputs["counts"]), "--lineage",
            str(inputs["lineage"]), "--samplesheet", str(inputs["sheet"])]
    out = tmp_path / "t.biom"
    res = CliRunner().invoke(main, [*base, "--out", str(out), "--versions", str(versions)])
    assert res.exit_code == 2 and "--versions fill the method version of --context" in res.output
    assert not out.exists()
    res = CliRunner().invoke(main, [*base, "--out", str(out), "--versions", str(versions),
                                    "--context", str(context)])
    assert res.exit_code == 0, res.output
    assert read_table(out).context.method_version == "1.26.0"
    bad = tmp_path / "bad.yml"
    bad.write_text('"AMPLICON:DADA2":\n    dada2: [1, 26]\n')
    context.write_text(json.dumps({"marker": "16S", "method": "DADA2",
                                   "method_version": "1.26.0"}))
    res = CliRunner().invoke(main, [*base, "--out", str(tmp_path / "b.biom"), "--versions",
                                    str(bad), "--context", str(context)])
    assert res.exit_code == 2 and "bad.yml: AMPLICON:DADA2: dada2: the version is" in res.output
    assert not (tmp_path / "b.biom").exists()


@needs_vsearch
def test_run_without_any_asv_still_gives_a_valid_table(
    inputs: dict[str, Path], tmp_path: Path
) -> None:
    counts = tmp_path / "asv_counts.tsv"
    counts.write_text(inputs["counts"].read_text().splitlines()[0] + "\n")
    out = tmp_path / "empty.biom"
    summary = build_biom(counts, inputs["lineage"], inputs["sheet"], out)
    assert summary.n_observations == 0 and len(summary.empty_samples) == summary.n_samples
    assert validate_biom(out) == []
    table = biom.load_table(str(out))
    assert table.shape == (0, summary.n_samples)
    assert table.metadata("BLANK")["site"] == "BLANK"


# -------------------------------------------------------------------------------- validation


def _tamper(path: Path, case: str) -> None:
    with h5py.File(path, "r+") as handle:
        if case == "duplicate_sample_id":
            ids = handle["sample/ids"][()]
            ids[1] = ids[0]
            handle["sample/ids"][...] = ids
        elif case == "corrupt_indptr":
            indptr = handle["observation/matrix/indptr"][()]
            indptr[3], indptr[4] = indptr[4] + 2, indptr[3]
            handle["observation/matrix/indptr"][...] = indptr
        elif case == "nnz_mismatch":
            handle.attrs["nnz"] = int(handle.attrs["nnz"]) + 1
        elif case == "timezone":
            handle.attrs["creation-date"] = "2024-05-01T10:00:00+02:00"
        elif case == "missing_type":
            del handle.attrs["type"]
        elif case == "csr_csc_disagree":
            data = handle["sample/matrix/data"][()]
            data[0] += 1
            handle["sample/matrix/data"][...] = data
        elif case == "index_out_of_range":
            indices = handle["sample/matrix/indices"][()]
            indices[-1] = len(handle["observation/ids"]) + 5
            handle["sample/matrix/indices"][...] = indices
        elif case == "missing_mixs":
            del handle["sample/metadata/lat_lon"]
        elif case == "missing_taxonomy":
            del handle["observation/metadata/taxonomy"]
        elif case == "duplicate_observation_id":
            ids = handle["observation/ids"][()]
            ids[2] = ids[1]
            handle["observation/ids"][...] = ids


TAMPER_CASES = [
    ("duplicate_sample_id", r"^duplicate sample ID\(s\): BAQ3473\.2$", True),
    ("corrupt_indptr", r"observation/matrix \(CSR\): indptr is not monotone", True),
    ("nnz_mismatch", r"stored values but attribute nnz = ", True),
    ("timezone", r"'creation-date' '2024-05-01T10:00:00\+02:00' has a timezone", False),
    ("missing_type", r"^attribute 'type' is missing$", False),
    ("csr_csc_disagree", r"matrices disagree in 1 cell", True),
    ("index_out_of_range", r"sample/matrix \(CSC\): indices out of range", True),
    ("missing_mixs", r"^sample metadata missing: lat_lon$", True),
    ("missing_taxonomy", r"^observation metadata missing: taxonomy$", True),
    ("duplicate_observation_id", r"^duplicate observation ID\(s\): [0-9a-f]{32}", True),
]


@needs_vsearch
@pytest.mark.parametrize(("case", "pattern", "biom_format_misses"), TAMPER_CASES)
def test_validator_catches_tampering(
    table_copy: Path, case: str, pattern: str, biom_format_misses: bool
) -> None:
    import re

    _tamper(table_copy, case)
    problems = validate_biom(table_copy)
    assert any(re.search(pattern, p) for p in problems), problems
    result = CliRunner().invoke(main, ["biom", "validate", str(table_copy)])
    assert result.exit_code != 0 and re.search(pattern.strip("^$"), result.output)
    # design.md: biom-format's validator alone accepts these
    proc = subprocess.run(
        [str(BIOM_CLI), "validate-table", "-i", str(table_copy)], capture_output=True, text=True
    )
    assert (proc.returncode == 0) is biom_format_misses, proc.stdout


def test_validate_non_biom_files(tmp_path: Path) -> None:
    text = tmp_path / "x.biom"
    text.write_text("not hdf5")
    assert validate_biom(text) == [f"{text}: not an HDF5 file (BIOM 2.1 tables are HDF5)"]
    absent = tmp_path / "absent.biom"
    assert validate_biom(absent) == [f"{absent}: BIOM table not found"]


# ------------------------------------------------------------------------------- R/phyloseq

PHYLOSEQ_R = r"""
args <- commandArgs(trailingOnly = TRUE)
suppressPackageStartupMessages(library(phyloseq))
# Debian's biomformat calls h5read() without importing rhdf5: attach it for HDF5 input
if (!grepl("\\.json$", args[1])) suppressPackageStartupMessages(library(rhdf5))
# docs/biom.md: Greengenes prefixes name k..s; our d__ (domain) arrives as 'Rank1'
parse_taxonomy_soilbiome <- function(x) {
  x <- parse_taxonomy_greengenes(x); names(x)[names(x) == "Rank1"] <- "Domain"; x
}
ps <- import_biom(args[1], parseFunction = parse_taxonomy_soilbiome)
out <- args[2]
write.csv(as(tax_table(ps), "matrix"), file.path(out, "tax.csv"), na = "<NA>")
write.csv(as(otu_table(ps), "matrix"), file.path(out, "otu.csv"))
write.csv(as(sample_data(ps), "data.frame"), file.path(out, "sam.csv"))
# docs/biom.md workaround: biomformat's ldply() applies check.names to sample metadata
# columns; take the names back from the BIOM itself
colnames(sample_data(ps)) <- names(unlist(biomformat::read_biom(args[1])$columns[[1]]$metadata))
# (as(, "data.frame") would apply check.names again; write the names phyloseq now holds)
write.csv(setNames(as(sample_data(ps), "data.frame"), colnames(sample_data(ps))),
          file.path(out, "sam_fixed.csv"))
"""


def _read_csv(path: Path) -> tuple[list[str], dict[str, dict[str, str]]]:
    with path.open(newline="") as handle:
        reader = csv.reader(handle)
        header = next(reader)
        rows = {row[0]: dict(zip(header[1:], row[1:], strict=True)) for row in reader}
    return header[1:], rows


def _import_in_phyloseq(table: Path, out: Path) -> dict[str, tuple[list[str], dict]]:
    out.mkdir()
    script = out / "import.R"
    script.write_text(PHYLOSEQ_R)
    proc = subprocess.run(
        ["Rscript", str(script), str(table), str(out)], capture_output=True, text=True
    )
    assert proc.returncode == 0, proc.stderr
    return {name: _read_csv(out / f"{name}.csv") for name in ("tax", "otu", "sam", "sam_fixed")}


def _check_phyloseq(imported: dict, table_path: Path, inputs: dict[str, Path]) -> None:
    table = biom.load_table(str(table_path))
    lineages = read_lineage(inputs["lineage"])
    rank_cols, tax = imported["tax"]
    assert rank_cols == [rank.capitalize() for rank in RANKS]  # Domain, Kingdom, .., Species
    assert list(tax) == list(table.ids("observation"))  # md5 IDs untouched
    for fid, row in tax.items():
        names = lineages[fid].names
        assert [row[c] for c in rank_cols] == [n if n else "<NA>" for n in names]
    samples, otu = imported["otu"]
    assert samples == list(table.ids())  # 'BAQ3473.2' etc. not mangled, BLANK kept
    for fid, row in otu.items():
        assert [float(row[s]) for s in samples] == list(
            table.data(fid, axis="observation", dense=True)
        )
    assert sum(float(row["BLANK"]) for row in otu.values()) == 0
    columns, sam = imported["sam"]
    assert list(sam) == samples
    expected = {"site", "run", "sample_type", *MIXS_REQUIRED, "metadata_note"}
    # the trap: import_biom renames a non-syntactic column (check.names in biomformat) ...
    assert set(columns) == expected | {"X" + EXTRA_COLUMN}
    # ... and the documented one-line fix restores it from the BIOM
    columns, sam = imported["sam_fixed"]
    assert set(columns) == expected | {EXTRA_COLUMN}
    assert sam["BAQ3473.2"]["env_broad_scale"] == "desert biome [ENVO:01000179]"
    assert sam["BAQ3473.2"][EXTRA_COLUMN] == "515F/806R (EMP)"
    assert sam["BLANK"]["lat_lon"] == "missing: control sample"
    for sample in samples:  # every value under its own (restored) column name
        assert sam[sample] == dict(table.metadata(sample))


@needs_vsearch
@needs_r
def test_phyloseq_imports_biom_format_json_export(
    table_path: Path, inputs: dict[str, Path], tmp_path: Path
) -> None:
    """What users without rhdf5 do: ``biom convert --to-json``, then ``import_biom``."""
    as_json = tmp_path / "table.json"
    subprocess.run(
        [str(BIOM_CLI), "convert", "-i", str(table_path), "-o", str(as_json), "--to-json"],
        check=True, capture_output=True,
    )  # fmt: skip
    imported = _import_in_phyloseq(as_json, tmp_path / "r")
    _check_phyloseq(imported, table_path, inputs)


@needs_vsearch
def test_phyloseq_imports_hdf5_directly(
    table_path: Path, inputs: dict[str, Path], tmp_path: Path
) -> None:
    imported = _import_in_phyloseq(table_path, tmp_path / "r")
    _check_phyloseq(imported, table_path, inputs)


def test_empty_samples_anywhere_survive_phyloseq(tmp_path: Path) -> None:
    """R biomformat 1.26 misreads empty columns (descending indptr range): we pad them.

    Without the padding, the empty last sample fails to load and an empty sample in the middle
    silently receives its neighbour's counts.
    """
    counts = np.array([[5, 0, 3, 0], [0, 0, 7, 0], [2, 0, 0, 0]], dtype=float)
    samples = ["S1", "EMPTY_MID", "S3", "EMPTY_END"]
    obs = [f"asv{i}" for i in range(3)]
    table = biom.Table(counts, obs, samples, type="OTU table",
                       observation_metadata=[{"taxonomy": ["k__Bacteria"] + [""] * 6}] * 3,
                       sample_metadata=[{"site": s} for s in samples])
    path = tmp_path / "t.biom"
    with h5py.File(path, "w") as handle:
        table.to_hdf5(handle, "test")
        assert pad_empty_samples(handle) == 2
    assert biom.load_table(str(path)).matrix_data.toarray().tolist() == counts.tolist()
    script = (
        "suppressPackageStartupMessages({library(phyloseq); library(rhdf5)});"
        f"ps <- import_biom('{path}');"
        "write.csv(as(otu_table(ps), 'matrix'), stdout())"
    )
    proc = subprocess.run(["Rscript", "-e", script], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    rows = list(csv.reader(proc.stdout.splitlines()))
    assert rows[0][1:] == samples
    got = [[float(v) for v in row[1:]] for row in rows[1:]]
    assert got == counts.tolist()
