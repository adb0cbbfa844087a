"""A run where its users are: a lone clone, tools found through the pipeline's own
configuration, start-up checks that resolve and name what is missing (issue 17)."""

from __future__ import annotations

import csv
import os
import stat
import subprocess
from pathlib import Path

import pytest

from conftest import MAIN, ROOT, run_nextflow
from soilbiome.run.tools import missing_tools, required_tools, task_path

#: how a tracked file would reach the data folder that sits beside the project's checkouts
OUTSIDE = ("../" + "shared", "shared/" + "testdata")


def _tracked_files() -> list[Path]:
    out = subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, check=True)
    return [ROOT / name for name in out.stdout.decode().split("\0") if name]


@pytest.mark.skipif(not (ROOT / ".git").exists(), reason="needs the git checkout")
def test_no_tracked_file_reads_outside_the_repository() -> None:
    offenders = []
    for path in _tracked_files():
        if "test-data" in path.parts or not path.is_file() or path.suffix in (".gz", ".biom"):
            continue
        try:
            text = path.read_text()
        except UnicodeDecodeError:
            continue
        if any(word in text for word in OUTSIDE) and path.name != "CHANGELOG.md":
            offenders.append(str(path.relative_to(ROOT)))
    assert offenders == []


@pytest.mark.parametrize("sheet", sorted((ROOT / "assets").glob("*/*.csv")),
                         ids=lambda p: p.name)
def test_bundled_sheets_point_inside_the_repository(sheet: Path) -> None:
    with sheet.open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    paths = [row[c] for row in rows for c in ("fastq_1", "fastq_2", "path") if row.get(c)]
    assert paths
    for value in paths:
        if value == ".":  # the shotgun demo database sheet's own folder
            continue
        target = (sheet.parent / value).resolve()
        assert target.is_relative_to(ROOT) and target.exists(), value


def test_required_tools_follow_mode_and_options() -> None:
    sixteen = required_tools("amplicon", reference_format="sintax", marker="16S", primers=True)
    assert {"soilbiome", "fastp", "cutadapt", "Rscript", "vsearch", "mafft", "fasttree",
            "multiqc"} <= set(sixteen)
    assert "itsxpress" not in sixteen and "kraken2" not in sixteen
    its = required_tools("amplicon", reference_format="dada2", marker="ITS2")
    assert {"itsxpress", "hmmsearch", "vsearch"} <= set(its) and "mafft" not in its
    assert "cutadapt" not in its
    shotgun = required_tools("shotgun", host=True)
    assert {"kraken2", "bowtie2", "bowtie2-build", "fastp"} <= set(shotgun)
    assert "Rscript" not in shotgun
    assert set(required_tools("compare")) == {"soilbiome", "bash"}


def test_missing_tools_are_named_with_their_step(tmp_path: Path) -> None:
    fake = tmp_path / "bin"
    fake.mkdir()
    tool = fake / "fastp"
    tool.write_text("#!/bin/sh\n")
    tool.chmod(tool.stat().st_mode | stat.S_IXUSR)
    found = missing_tools({"fastp": "FASTQ_QC", "kraken2": "KRAKEN2"}, path=str(fake))
    assert len(found) == 1 and "'kraken2'" in found[0] and "KRAKEN2" in found[0]
    # the tasks' PATH puts the project's own venv and bin/ first
    assert task_path(base="/usr/bin").split(os.pathsep)[:2] == [
        str(ROOT / ".venv" / "bin"), str(ROOT / "bin")]


def test_relative_signing_key_is_resolved_at_start_up(tmp_path: Path, monkeypatch) -> None:  # noqa: ANN001
    from soilbiome.run.preflight import run_preflight
    from soilbiome.sharing.keys import generate_key

    launch = tmp_path / "launch"
    generate_key(launch / "keys" / "provider.key")  # the keys folder is created, mode 0700
    assert stat.S_IMODE((launch / "keys").stat().st_mode) == 0o700
    monkeypatch.chdir(launch)
    from soilbiome.sharing.keys import load_private_key, public_key_b64, rewrite_trusted_keys

    public = public_key_b64(load_private_key(launch / "keys" / "provider.key").public_key())
    agreement = tmp_path / "agreement.yaml"
    src = ROOT / "sharing_agreements" / "examples" / "open-cc-by.yaml"
    import yaml

    signers = list(yaml.safe_load(src.read_text())["signing"]["required_signers"])
    rewrite_trusted_keys(src, agreement, [(public, s) for s in signers])
    result = run_preflight(ROOT / "assets" / "samplesheets" / "atacama_16s.csv",
                           tmp_path / "staging", agreement=agreement,
                           signing_key="keys/provider.key")
    assert result.signing_key == str(launch / "keys" / "provider.key")

    # a key others can read (or write) is refused at start-up, as ssh and STAMP refuse it
    from soilbiome.run.preflight import PreflightError

    for mode in (0o644, 0o620):
        (launch / "keys" / "provider.key").chmod(mode)
        with pytest.raises(PreflightError) as caught:
            run_preflight(ROOT / "assets" / "samplesheets" / "atacama_16s.csv",
                          tmp_path / "staging", agreement=agreement,
                          signing_key="keys/provider.key")
        line = (f"signing key keys/provider.key is accessible by group or others "
                f"(mode {mode:04o}); run: chmod 600 keys/provider.key")
        assert line in caught.value.problems, caught.value.problems


@pytest.mark.nextflow
def test_missing_tool_refused_at_start_up_by_name(tmp_path: Path) -> None:
    """A machine without vsearch: the run stops before any task, naming vsearch and its step."""
    shim = tmp_path / "path"
    shim.mkdir()
    for folder in ("/usr/local/bin", "/usr/bin", "/bin"):
        for exe in Path(folder).iterdir():
            if exe.name != "vsearch" and not (shim / exe.name).exists():
                (shim / exe.name).symlink_to(exe)
    outdir = tmp_path / "results"
    proc = run_nextflow("run", str(MAIN), "-profile", "test", "--outdir", str(outdir),
                        cwd=tmp_path, path=str(shim))
    out = proc.stdout + proc.stderr
    assert proc.returncode != 0, out[-3000:]
    assert "'vsearch' not found" in out and "VSEARCH_SINTAX" in out, out[-3000:]
    assert "Submitted process" not in out
    assert not outdir.exists()


@pytest.mark.nextflow
def test_nextflow_starts_from_the_class_archive_set_up_made(tmp_path: Path) -> None:
    """runtime/setup.sh dumps the classes of a run's start (runtime/nextflow/build_cds.sh); the
    launcher maps them from that archive instead of the jars, and the JVM accepts the archive
    as made for it (-Xshare:on refuses to start otherwise)."""
    archive = next((ROOT / ".runtime" / "nextflow").glob("*/classes.jsa"))
    log = tmp_path / "classes.log"
    proc = run_nextflow("-version", cwd=tmp_path, timeout=120,
                        env={"NXF_OPTS": f"-Xshare:on -Xlog:class+load=info:file={log}"})
    assert proc.returncode == 0 and "version" in proc.stdout, proc.stderr[-2000:]
    sources = log.read_text().splitlines()
    shared = [line for line in sources if "source: shared objects file" in line]
    launcher = [line for line in shared if " nextflow.cli.Launcher " in line]
    assert launcher and len(shared) > len(sources) / 2, (archive, len(shared), len(sources))
