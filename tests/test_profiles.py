"""soilbiome import: every valid profiler output imports, every *invalid* one is refused."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from conftest import TESTDATA
from soilbiome.cli import main
from soilbiome.io.biom import validate_biom
from soilbiome.io.biom_reader import read_table
from soilbiome.io.profiler_names import LINEAGE_PROFILERS
from soilbiome.io.profiles import PROFILERS, ProfileError, read_profile
from soilbiome.io.profiles.model import RELATIVE_ROUNDING, parse_number

OUTPUTS = TESTDATA / "profiler_outputs"
TAXONOMY = OUTPUTS / "taxonomy"
# sylph and SingleM name genomes / lineages, not taxon IDs: tests/test_profiles_lineages.py
TAXID_PROFILERS = [p for p in PROFILERS if p not in LINEAGE_PROFILERS]
FILES = sorted(p for d in OUTPUTS.iterdir() if d.is_dir() and d.name in TAXID_PROFILERS
               for p in d.iterdir() if p.is_file())
VALID = [p for p in FILES if "invalid" not in p.name]
INVALID = [p for p in FILES if "invalid" in p.name]


class _Result:
    def __init__(self, result) -> None:  # noqa: ANN001 - click Result
        self.returncode = result.exit_code
        self.stderr = result.stderr


def soilbiome(*args: str, check: bool = False) -> _Result:
    """Run the CLI in-process (same code path as the console script, without start-up cost)."""
    res = _Result(CliRunner().invoke(main, [str(a) for a in args], catch_exceptions=False))
    if check:
        assert res.returncode == 0, res.stderr
    return res


def _id(path: Path) -> str:
    return f"{path.parent.name}/{path.name}"


def test_every_profiler_has_test_files():
    assert {p.parent.name for p in VALID} == set(TAXID_PROFILERS)
    assert len(INVALID) >= 10


@pytest.mark.parametrize("path", VALID, ids=_id)
def test_valid_file_imports_to_a_valid_biom(path, tmp_path):
    out = tmp_path / "table.biom"
    proc = soilbiome("import", "--profiler", path.parent.name, path, "--taxonomy", TAXONOMY,
                     "--out", out)
    assert proc.returncode == 0, proc.stderr
    assert validate_biom(out) == []
    table = read_table(out)
    profile = read_profile(path.parent.name, path)
    assert table.marker == "shotgun"
    assert table.sample_ids == (path.name.split(".")[0],)
    if path.parent.name == "metaphlan":
        assert table.value_kind == "relative"
        # not rescaled: the table holds what the file lists, its remainder to 100% explicit
        assert table.sample_totals()[0] == pytest.approx(profile.total, abs=1e-9)
        assert 1.0 - 1e-9 <= table.sample_totals()[0] <= 1.0 + RELATIVE_ROUNDING
        if profile.unassigned:
            column = table.feature_ids.index("unassigned")
            assert table.counts[0, column] == pytest.approx(profile.unassigned)
    else:
        assert table.value_kind == "counts"
        # nothing dropped: the table holds every read of the file, unclassified included
        assert table.sample_totals()[0] == pytest.approx(round(profile.total))
        md = table.sample_metadata.iloc[0]
        assert int(md["reads_unclassified"]) == round(profile.unclassified)


@pytest.mark.parametrize("path", INVALID, ids=_id)
def test_invalid_file_is_refused_with_file_line_and_problem(path, tmp_path):
    out = tmp_path / "table.biom"
    proc = soilbiome("import", "--profiler", path.parent.name, path, "--taxonomy", TAXONOMY,
                     "--out", out)
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in proc.stderr
    assert lines[0].startswith(f"soilbiome: error: {path}")
    if path.name != "invalid_empty.kmcp.profile":  # an empty file has no line to name
        assert ": line " in lines[0]
    assert not out.exists()


def test_reader_error_carries_line_and_problem():
    with pytest.raises(ProfileError) as info:
        read_profile("bracken", OUTPUTS / "bracken" / "2612_pe-ERR5766176_B-db1_S_invalid.tsv")
    assert info.value.line == 2
    assert "added_reads" in info.value.problem


def test_several_samples_one_table_and_known_lineages(tmp_path):
    files = [OUTPUTS / "kraken2" / "2611_se-ERR5766174-db1.kraken2.report.txt",
             OUTPUTS / "kraken2" / "2612_pe-ERR5766176-db1.kraken2.report.txt"]
    out = tmp_path / "k.biom"
    soilbiome("import", "--profiler", "kraken2", *files, "--taxonomy", TAXONOMY, "--out", out,
              check=True)
    table = read_table(out)
    assert table.sample_ids == ("2611_se-ERR5766174-db1", "2612_pe-ERR5766176-db1")
    assert "unclassified" in table.feature_ids
    human = table.taxonomy.loc["ncbi:9606"]
    assert human["species"] == "Homo_sapiens" and human["domain"] == "Eukaryota"
    frac = table.sample_metadata["classified_fraction"].astype(float)
    assert np.all((frac > 0) & (frac < 0.01))   # these runs are >99 % unclassified


def test_relative_table_refuses_count_based_indices(tmp_path):
    out = tmp_path / "mpa.biom"
    soilbiome("import", "--profiler", "metaphlan", OUTPUTS / "metaphlan" / "mpa_valid_complex.tsv",
              OUTPUTS / "metaphlan" / "mpa_valid_simple.tsv", "--taxonomy", TAXONOMY,
              "--out", out, check=True)
    refused = soilbiome("diversity", out, "--outdir", tmp_path / "div",
                        "--rarefaction-depth", "10")
    assert refused.returncode != 0
    assert "relative abundances" in refused.stderr and "cannot rarefy" in refused.stderr
    ok = soilbiome("diversity", out, "--outdir", tmp_path / "d2")
    assert ok.returncode == 0, ok.stderr
    alpha = (tmp_path / "d2" / "alpha_diversity.tsv").read_text()
    assert "chao1 needs counts" in alpha


@pytest.mark.parametrize("path", sorted((OUTPUTS / "metaphlan").glob("*.txt")), ids=_id)
def test_metaphlan_keeps_every_leaf_however_small(path):
    """Every clade with no clade listed under it keeps its abundance: MOCK_001 lists
    Chlorobium phaeobacteroides at 0.00982 %, and ERR7569997 has dozens of taxa at or below
    0.01 %; dropping them inflated every other taxon when the sample was rescaled."""
    rows = []
    for line in path.read_text().splitlines():
        if line.startswith("#") or not line.strip():
            continue
        fields = line.split("\t")
        if fields[0].upper() in ("UNCLASSIFIED", "UNKNOWN"):
            continue
        ids = [i for i in fields[1].split("|") if i.strip()]
        rows.append((fields[0], ids[-1], float(fields[2])))  # the deepest named taxon
    names = {name for name, _, _ in rows}
    leaves = [(n, t, a) for n, t, a in rows
              if not any(other.startswith(n + "|") for other in names) and a > 0]
    profile = read_profile("metaphlan", path)
    small = [(n, t, a) for n, t, a in leaves if a <= 0.01]
    expected: dict[str, float] = {}
    for _name, taxid, abundance in leaves:  # leaves of one taxon ID add up in it
        expected[taxid] = expected.get(taxid, 0.0) + abundance / 100
    for taxid, value in expected.items():
        assert profile.values.get(taxid, 0.0) >= value - 1e-9, taxid
    if "MOCK_001_Illumina" in path.name:
        assert any("Chlorobium_phaeobacteroides" in n for n, _, _ in small)
    # what the file lists adds up to 100 % within MetaPhlAn's five-decimal printing
    total = sum(profile.values.values()) + profile.unclassified
    assert total == pytest.approx(1.0, abs=2e-3), total


@pytest.mark.parametrize(("profiler", "source", "line", "column", "value"), [
    # 1e300 "reads" used to import and then end diversity in an overflow traceback
    ("bracken", "2612_pe-ERR5766176-db1_S.tsv", 3, "new_est_reads", "1e300"),
    ("kraken2", "2612_pe-ERR5766176-db1.kraken2.report.txt", 1, "clade reads", "2e12"),
])
def test_counts_beyond_any_sequencing_run_are_refused_with_line(
        profiler, source, line, column, value, tmp_path):
    lines = (OUTPUTS / profiler / source).read_text().splitlines(keepends=True)
    fields = lines[line - 1].split("\t")
    if profiler == "bracken":
        fields[5] = value
    else:
        fields[1] = fields[2] = value
    lines[line - 1] = "\t".join(fields)
    path = tmp_path / source
    path.write_text("".join(lines))
    with pytest.raises(ProfileError) as info:
        read_profile(profiler, path)
    assert info.value.line == line and column in info.value.problem
    assert "exceeds 1e+12" in info.value.problem
    out = tmp_path / "table.biom"
    proc = soilbiome("import", "--profiler", profiler, path, "--taxonomy", TAXONOMY,
                     "--out", out)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert proc.stderr.startswith(f"soilbiome: error: {path}: line {line}"), proc.stderr
    assert not out.exists()
    # the bound itself is still a number of reads
    assert parse_number(path, line, column, "1000000000000", integer=True) == 1e12


def _gzip_with_long_line(path: Path, first: bytes, size: int) -> None:
    """A gzip file: ``first`` then one line of ``size`` bytes without a newline (1 GB of
    repeated text compresses to a few MB, written in a few seconds)."""
    import gzip

    chunk = b"A" * (1 << 20)
    with path.open("wb") as raw, gzip.GzipFile(fileobj=raw, mode="wb", compresslevel=1) as gz:
        gz.write(first)
        for _ in range(size // len(chunk)):
            gz.write(chunk)


# the reader's own peak memory (VmHWM, MB: unlike ru_maxrss it does not carry over the
# forked pytest process's size)
_PEAK = """
import re, sys
from pathlib import Path
from soilbiome.io.profiles import ProfileError, read_profile
try:
    read_profile(sys.argv[1], sys.argv[2])
except ProfileError as exc:
    print(exc)
status = Path("/proc/self/status").read_text()
print(int(re.search(r"VmHWM:\\s+(\\d+) kB", status).group(1)) // 1024)
"""


@pytest.mark.parametrize(("profiler", "first", "size", "gz"), [
    # a 1 GB line (formerly a 5.4 GB peak and a MemoryError traceback)
    ("kraken2", b"100.00\t5\t5\tU\t0\tunclassified\n", 1 << 30, True),
    # header formats read the same way, plain files too
    ("metaphlan", b"#clade_name\tNCBI_tax_id\trelative_abundance\n", 64 << 20, False),
])
def test_a_huge_line_is_one_error_with_bounded_memory(profiler, first, size, gz, tmp_path):
    import subprocess
    import sys

    path = tmp_path / ("S1.txt.gz" if gz else "S1.txt")
    if gz:
        _gzip_with_long_line(path, first, size)
    else:
        path.write_bytes(first + b"A" * size)
    proc = subprocess.run([sys.executable, "-c", _PEAK, profiler, str(path)],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0 and "Traceback" not in proc.stderr, proc.stderr
    message, peak_mb = proc.stdout.strip().splitlines()
    assert message == f"{path}: line 2: longer than {4 << 20} characters: not a profiler " \
                      "table (a corrupt or wrong file)"
    # the interpreter and the package's imports alone take ~140 MB; a line read whole would
    # add its own size (64 MB to 1 GB) and more
    assert int(peak_mb) < 200, f"peak {peak_mb} MB reading a {size >> 20} MB line"
    out = tmp_path / "t.biom"
    res = soilbiome("import", "--profiler", profiler, path, "--taxonomy", TAXONOMY,
                    "--out", out)
    assert res.returncode == 2
    assert res.stderr.strip().splitlines() == [f"soilbiome: error: {message}"]
    assert not out.exists()


def test_kaiju_reads_above_the_table_rank_are_unassigned_not_unclassified(tmp_path):
    """kaiju2table's "cannot be assigned to a (non-viral) species" reads were classified (above
    species): they are the feature ``unassigned`` and count as classified, so the table's
    classified share is Kaiju's own (40.5 % in barcode41, formerly 26.2 %)."""
    path = OUTPUTS / "kaiju" / "barcode41_se-barcode41-kaiju.txt"
    out = tmp_path / "k.biom"
    res = CliRunner().invoke(main, ["import", "--profiler", "kaiju", str(path), "--taxonomy",
                                    str(TAXONOMY), "--out", str(out)])
    assert res.exit_code == 0, res.output
    assert ("7377 reads in taxa, 16739 unclassified, 4023 unassigned (classified above the "
            "table's rank)") in res.output
    table = read_table(out)
    values = dict(zip(table.feature_ids, table.counts.toarray()[0], strict=True))
    assert values["unassigned"] == 4023 and values["unclassified"] == 16739
    md = table.sample_metadata.iloc[0]
    assert int(md["reads_classified"]) == 7377 + 4023
    assert float(md["classified_fraction"]) == pytest.approx(1 - 0.59486836, abs=1e-4)
