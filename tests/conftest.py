"""Shared fixtures: paths to the project and to the public test data."""

from __future__ import annotations

import csv
import os
import re
import shutil
import tempfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
TESTDATA = ROOT / "assets" / "test-data"  # copied from public sources: see its README
ATACAMA = TESTDATA / "amplicon" / "16s_atacama_soil"
ATACAMA_SHEET = ROOT / "assets" / "samplesheets" / "atacama_16s.csv"
KRAKEN2_DEMO = ROOT / ".runtime" / "kraken2_demo"  # built on demand from TESTDATA/shotgun

# Remembered reference digests (soilbiome.io.digest_cache) go to a folder of this test session,
# never to the user's ~/.cache; every command and Nextflow run the tests start inherits it.
os.environ["SOILBIOME_CACHE_DIR"] = tempfile.mkdtemp(prefix="soilbiome-test-cache-")


@pytest.fixture(scope="session")
def kraken2_demo() -> Path:
    """The shotgun demo Kraken2 database, built (about a minute, once) when a test needs it."""
    import subprocess

    proc = subprocess.run([str(ROOT / "runtime" / "build_kraken2_demo.sh")],
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert (KRAKEN2_DEMO / "hash.k2d").is_file()
    return KRAKEN2_DEMO


@pytest.fixture(scope="session")
def shotgun_demo(kraken2_demo: Path) -> Path:
    """Both shotgun demo databases (Kraken2 and the sylph one sketched from the same genomes),
    built once by runtime/build_shotgun_demo.sh, as -profile test_shotgun builds them."""
    import subprocess

    proc = subprocess.run([str(ROOT / "runtime" / "build_shotgun_demo.sh")],
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    sylph = kraken2_demo.parent / "sylph_demo"
    assert (sylph / "refdb.csv").is_file()
    return sylph


def fastq_records(path: Path) -> list[list[bytes]]:
    """The records of a gzipped FASTQ file, each its four lines."""
    import gzip

    lines = gzip.decompress(path.read_bytes()).splitlines()
    return [lines[i:i + 4] for i in range(0, len(lines), 4)]


def write_fastq_gz(path: Path, records: list[list[bytes]]) -> Path:
    """Write FASTQ records (four lines each) gzipped."""
    import gzip

    path.write_bytes(gzip.compress(b"".join(b"\n".join(r) + b"\n" for r in records), 1))
    return path


@pytest.fixture(scope="session")
def pair(tmp_path_factory) -> tuple[Path, Path]:
    """The shotgun demo reads as pairs: R1 the first 75 bases, R2 the reverse complement of
    the last 75 (the sylph and streamed-QC tests)."""
    complement = bytes.maketrans(b"ACGTN", b"TGCAN")
    folder = tmp_path_factory.mktemp("demo_pair")
    r1, r2 = [], []
    for header, seq, _plus, qual in fastq_records(TESTDATA / "shotgun" / "humann_demo.fastq.gz"):
        r1.append([header, seq[:75], b"+", qual[:75]])
        r2.append([header, seq[25:][::-1].translate(complement), b"+", qual[25:][::-1]])
    return (write_fastq_gz(folder / "pair_1.fastq.gz", r1),
            write_fastq_gz(folder / "pair_2.fastq.gz", r2))


def read_sheet(path: Path) -> tuple[list[str], list[dict]]:
    """Header and rows of a samplesheet."""
    with path.open(newline="") as handle:
        reader = csv.DictReader(handle)
        return list(reader.fieldnames or []), list(reader)


def read_tsv(path: Path) -> list[dict]:
    """Rows of a tab-separated file with a header."""
    with path.open(newline="") as handle:
        return list(csv.DictReader(handle, delimiter="\t"))


def trace_rows(outdir: Path) -> list[dict]:
    """Rows of the newest Nextflow execution trace that lists tasks (empty if none does).

    A run killed during start-up leaves Nextflow's own empty ``execution_trace_<time>.txt``
    beside the finished run's (docs/errors.md); it is skipped.
    """
    for trace in sorted((outdir / "pipeline_info").glob("execution_trace_*.txt"), reverse=True):
        rows = read_tsv(trace)
        if rows:
            return rows
    return []


def _refuse_constant(constant: str) -> None:
    raise ValueError(f"{constant} is not JSON")


def assert_strict_json_tree(folder: Path) -> list[Path]:
    """Every ``*.json`` under ``folder`` parses as strict JSON (RFC 8259: no ``NaN``,
    ``Infinity``, ``-Infinity``, as R's jsonlite and JavaScript's ``JSON.parse`` demand).

    Returns the files checked (at least one). Independent of the package's own writer.
    """
    import json

    files = sorted(Path(folder).rglob("*.json"))
    assert files, f"no JSON file under {folder}"
    bad = []
    for path in files:
        try:
            json.loads(path.read_text(encoding="utf-8"), parse_constant=_refuse_constant)
        except ValueError as exc:
            bad.append(f"{path.relative_to(folder)}: {exc}")
    assert not bad, "not strict JSON:\n" + "\n".join(bad)
    return files


def assert_test_tsvs_explained(folder: Path) -> list[Path]:
    """Every test-result TSV under ``folder`` (a ``p_value`` or ``Pr(>F)`` column) has a
    ``status`` and a ``reason`` column, no infinite value, and no missing p-value or statistic
    without a reason: a not computable row has no p-value and says why. Returns the files."""
    checked = []
    for path in sorted(Path(folder).rglob("*.tsv")):
        with path.open(newline="") as handle:
            lines = [line for line in handle if not line.startswith("#")]
        rows = list(csv.DictReader(lines, delimiter="\t"))
        if not rows or not ({"p_value", "Pr(>F)"} & set(rows[0])):
            continue
        checked.append(path)
        where = path.relative_to(folder)
        assert {"status", "reason"} <= set(rows[0]), f"{where}: no status/reason column"
        p_col = "p_value" if "p_value" in rows[0] else "Pr(>F)"
        for k, row in enumerate(rows, start=2):
            cells = {c: (v or "").strip().lower() for c, v in row.items()}
            assert not any(v in ("inf", "-inf", "infinity", "-infinity") for v in
                           cells.values()), f"{where} line {k}: infinite value"
            assert row["status"] in ("computed", "not computable"), f"{where} line {k}"
            no_p = cells[p_col] in ("", "nan", "na")
            if row["status"] == "not computable":
                assert no_p and row["reason"].strip(), f"{where} line {k}: p or no reason"
            elif no_p and cells.get("permutations", "1") not in ("0", "0.0"):
                assert row["reason"].strip(), f"{where} line {k}: no p-value and no reason"
    return checked


def write_asvs(work: Path, per_sample: dict, asvs: list[str]) -> tuple[Path, Path]:
    """``asv_counts.tsv`` and ``asv.fa`` (as DADA2_MERGE writes them) of the sequences ``asvs``
    counted per sample in ``per_sample`` (sample -> Counter of sequences)."""
    from soilbiome.taxonomy.lineage import feature_id_for

    counts = work / "asv_counts.tsv"
    with counts.open("w") as handle:
        handle.write("\t".join(["feature_id", "sequence", *per_sample]) + "\n")
        for seq in asvs:
            handle.write("\t".join([feature_id_for(seq), seq,
                                    *(str(c[seq]) for c in per_sample.values())]) + "\n")
    fasta = work / "asv.fa"
    fasta.write_text("".join(f">{feature_id_for(s)}\n{s}\n" for s in asvs))
    return counts, fasta


def write_sheet(path: Path, header: list[str], rows: list[dict]) -> Path:
    """Write a samplesheet."""
    with path.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=header)
        writer.writeheader()
        writer.writerows(rows)
    return path


def nextflow_warnings(proc) -> list[str]:
    """The warnings a Nextflow run printed (``WARN`` lines of its console output): a run with
    an agreement and valid inputs should print none (a useless operator, a missing input...)."""
    return [line for line in (proc.stdout + proc.stderr).splitlines() if "WARN" in line]


def single_and_paired_run(tmp_path: Path, single: Path, pair: tuple[Path, Path] | list[Path],
                          ) -> list[str]:
    """Arguments of a ``-profile test_shotgun`` run of two samples, ``single`` (one FASTQ) and
    ``paired`` (R1, R2): its samplesheet and an agreement naming both, written to tmp_path."""
    header, (row,) = read_sheet(ROOT / "assets" / "samplesheets" / "shotgun_demo.csv")
    sheet = write_sheet(tmp_path / "samplesheet.csv", header, [
        {**row, "sample": "single", "fastq_1": str(single)},
        {**row, "sample": "paired", "fastq_1": str(pair[0]), "fastq_2": str(pair[1])}])
    agreement = tmp_path / "agreement.yaml"
    text = (ROOT / "sharing_agreements" / "examples" / "open-cc-by-shotgun.yaml").read_text()
    agreement.write_text(re.sub(r"sample_ids: \[[^\]]*\]", "sample_ids: [single, paired]",
                                text))
    return ["run", str(MAIN), "-profile", "test_shotgun", "--input", str(sheet),
            "--agreement", str(agreement)]


def cut_past_the_gate(tmp_path: Path, row: dict) -> dict:
    """The sample ``row`` with an R1 gzip cut short far into the file (``cut_R1.fastq.gz``).

    The start-up gate reads only the first records of a gzip (preflight.SAMPLE_READS), so the
    cut is left for the task that reads the whole file to find. The mate gets as many records,
    so that only the cut makes the pair fail.
    """
    import gzip

    from soilbiome.run.preflight import SAMPLE_READS

    with gzip.open(row["fastq_1"], "rb") as handle:
        records = handle.read()
    # past the gate's first records and its 1 MiB read buffer (io/fastq.py)
    copies = max(SAMPLE_READS // (records.count(b"\n") // 4) + 3, (4 << 20) // len(records) + 1)
    whole = gzip.compress(records * copies, compresslevel=6)
    cut = tmp_path / "cut_R1.fastq.gz"
    cut.write_bytes(whole[: len(whole) - 2000])
    with gzip.open(row["fastq_2"], "rb") as handle:
        mate = tmp_path / "long_R2.fastq.gz"
        mate.write_bytes(gzip.compress(handle.read() * copies, compresslevel=6))
    return dict(row, fastq_1=str(cut), fastq_2=str(mate))


@pytest.fixture
def atacama_rows() -> tuple[list[str], list[dict]]:
    """The bundled Atacama samplesheet with absolute read paths."""
    header, rows = read_sheet(ATACAMA_SHEET)
    for row in rows:
        for col in ("fastq_1", "fastq_2"):
            row[col] = str((ATACAMA_SHEET.parent / row[col]).resolve())
    return header, rows


@pytest.fixture
def atacama_copy(tmp_path: Path) -> Path:
    """A writable copy of the Atacama reads."""
    dest = tmp_path / "reads"
    shutil.copytree(ATACAMA, dest)
    for f in dest.iterdir():
        f.chmod(0o644)
    return dest


NEXTFLOW = ROOT / "runtime" / "nextflow" / "nextflow"
MAIN = ROOT / "pipeline" / "main.nf"


def shell_path_without_venv() -> str:
    """The caller's PATH with the project's ``.venv/bin`` taken out (no venv activated)."""
    import os

    venv = str((ROOT / ".venv" / "bin").resolve())
    return os.pathsep.join(p for p in os.environ.get("PATH", "").split(os.pathsep)
                           if p and str(Path(p).resolve()) != venv)


def run_nextflow(*args: str, cwd: Path, check: bool = False, timeout: int = 1200,
                 path: str | None = None, env: dict[str, str] | None = None):
    """Run the project's Nextflow as a user whose shell has no venv activated.

    Every pipeline test runs this way: tasks must find soilbiome, multiqc, cutadapt... through
    the pipeline's own configuration, never through the caller's PATH.
    """
    import os
    import subprocess

    env = {**os.environ, "NXF_ANSI_LOG": "false", "NXF_HOME": str(cwd / ".nxf_home"),
           **(env or {})}
    env.pop("VIRTUAL_ENV", None)
    env["PATH"] = shell_path_without_venv() if path is None else path
    return subprocess.run([str(NEXTFLOW), *args], cwd=cwd, env=env, capture_output=True,
                          text=True, check=check, timeout=timeout)


def run_diversity_step(where: Path, params: dict[str, object]):
    """The pipeline's DIVERSITY process run alone by Nextflow in ``where``, on
    ``params["biom"]`` and the tree ``params["tree"]`` (assets/NO_TREE when absent), with the
    pipeline's diversity parameters (``params`` overrides them); results in
    ``where/results``. The tasks' PATH is the one the pipeline's own configuration sets."""
    defaults = {"outdir": "results", "publish_dir_mode": "copy", "rarefaction_depth": None,
                "seed": 42, "group_by": None, "shannon_base": "e", "soil_env": None,
                "branch_lengths": "double", "tree": ROOT / "assets" / "NO_TREE"}

    def groovy(value: object) -> str:
        return "null" if value is None else (
            str(value) if isinstance(value, int) else f"'{value}'")

    module = ROOT / "pipeline" / "modules" / "diversity.nf"
    (where / "main.nf").write_text(
        f"include {{ DIVERSITY }} from '{module}'\n"
        "workflow { DIVERSITY(Channel.fromPath(params.biom), "
        "Channel.value(file(params.tree))) }\n")
    (where / "params.config").write_text(
        "params {\n" + "".join(f"    {k} = {groovy(v)}\n"
                               for k, v in {**defaults, **params}.items()) + "}\n"
        f"env.PATH = \"{ROOT / '.venv' / 'bin'}:{ROOT / 'bin'}:\\$PATH\"\n")
    return run_nextflow("run", "main.nf", "-c", "params.config", cwd=where)


@pytest.fixture(scope="session")
def test_profile_run(tmp_path_factory):
    """One real run of ``-profile test``, shared by every test that reads its outputs."""
    launch = tmp_path_factory.mktemp("nf_test_profile")
    outdir = launch / "results"
    proc = run_nextflow("run", str(MAIN), "-profile", "test", "--outdir", str(outdir), cwd=launch)
    return outdir, proc


@pytest.fixture(scope="session")
def its_profile_run(tmp_path_factory):
    """One real run of ``-profile test_its`` with a second sample made with other primers.

    The bundled ITS2 sample (ITS3/ITS4 primers on) plus the deadwood ITS reads, whose primers
    are not ITS3/ITS4: most of its reads lack the primers and it must be flagged.
    """
    launch = tmp_path_factory.mktemp("nf_test_its")
    header, rows = read_sheet(ROOT / "assets" / "samplesheets" / "its2_primers_on.csv")
    base = ROOT / "assets" / "samplesheets"
    rows[0]["fastq_1"] = str((base / rows[0]["fastq_1"]).resolve())
    rows[0]["fastq_2"] = str((base / rows[0]["fastq_2"]).resolve())
    deadwood = TESTDATA / "amplicon" / "its_deadwood"
    rows.append({**rows[0], "sample": "deadwood-ex",
                 "fastq_1": str(deadwood / "ex_R1_001.fastq.gz"),
                 "fastq_2": str(deadwood / "ex_R2_001.fastq.gz")})
    sheet = write_sheet(launch / "sheet.csv", header, rows)
    outdir = launch / "results"
    proc = run_nextflow("run", str(MAIN), "-profile", "test_its", "--input", str(sheet),
                        "--outdir", str(outdir), cwd=launch)
    return outdir, proc
