"""The CLI-only install route (docs/install.md): ``pip install`` of the repository into a fresh
venv, without root, R or Nextflow, gives every command that needs neither; a command that needs
one says which, in one line."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import ROOT


@pytest.fixture(scope="module")
def fresh_venv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    venv = tmp_path_factory.mktemp("fresh") / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    proc = subprocess.run([str(venv / "bin" / "pip"), "install", "-q", str(ROOT)],
                          capture_output=True, text=True, timeout=1200)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return venv


@pytest.mark.nextflow  # reads the session's pipeline run
def test_pip_install_verifies_a_pipeline_table(fresh_venv: Path, test_profile_run,  # noqa: ANN001
                                               tmp_path: Path) -> None:
    outdir, proc = test_profile_run
    assert proc.returncode == 0
    bare = {"PATH": f"{fresh_venv / 'bin'}:/usr/bin:/bin", "HOME": str(tmp_path)}
    soilbiome = str(fresh_venv / "bin" / "soilbiome")
    # the installed package is the one in the venv, not the repository's sources
    where = subprocess.run([str(fresh_venv / "bin" / "python"), "-c",
                            "import soilbiome; print(soilbiome.__file__)"],
                           capture_output=True, text=True, env=bare, cwd=tmp_path)
    assert str(fresh_venv) in where.stdout, where.stdout + where.stderr
    ok = subprocess.run([soilbiome, "verify", str(outdir / "biom" / "asv_table.biom"),
                         "--agreement", str(outdir / "sharing" / "agreement.yaml")],
                        capture_output=True, text=True, env=bare, cwd=tmp_path)
    assert ok.returncode == 0, ok.stdout[-2000:] + ok.stderr[-2000:]
    assert "In short: OK: 10 rule(s) passed." in ok.stdout
    assert all(re.search(rf"^passed\s+D{i}\s", ok.stdout, re.M) for i in range(1, 11))
    valid = subprocess.run([soilbiome, "biom", "validate", str(outdir / "biom" / "asv_table.biom")],
                           capture_output=True, text=True, env=bare, cwd=tmp_path)
    assert valid.returncode == 0 and "processing context: 16S" in valid.stdout, valid.stdout
    # without R and without a repository checkout: one line naming what is missing
    no_r = {**bare, "PATH": str(fresh_venv / "bin")}
    export = subprocess.run([soilbiome, "export", "phyloseq",
                             str(outdir / "biom" / "asv_table.biom"), "--out", "x.rds"],
                            capture_output=True, text=True, env=no_r, cwd=tmp_path)
    assert export.returncode != 0 and "Traceback" not in export.stderr
    assert len(export.stderr.strip().splitlines()) == 1 and "Rscript" in export.stderr
    run = subprocess.run([soilbiome, "run", "--profile", "test", "--outdir", "r"],
                         capture_output=True, text=True, env=bare, cwd=tmp_path)
    assert run.returncode != 0 and "Traceback" not in run.stderr
    assert len(run.stderr.strip().splitlines()) == 1 and "Nextflow" in run.stderr, run.stderr
    assert not (tmp_path / "x.rds").exists() and not (tmp_path / "r").exists()
