"""The container route (issue 17): `make image` builds soilbiome's image from Debian's package
archive alone (debootstrap + Charliecloud), and `-profile test,charliecloud` runs every task in
it with the same ASV counts, BIOM table and diversity as the host run."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from conftest import MAIN, ROOT, run_nextflow, trace_rows
from soilbiome.io.biom_reader import read_table

IMAGE = ROOT / ".runtime" / "image" / "soilbiome"

pytestmark = [
    pytest.mark.nextflow,
    pytest.mark.skipif(shutil.which("ch-run") is None or shutil.which("debootstrap") is None
                       or os.geteuid() != 0,
                       reason="needs charliecloud and debootstrap (make setup) and root"),
]


@pytest.fixture(scope="session")
def image() -> Path:
    """The directory image, built (or only checked, when up to date) by runtime/image/build.sh."""
    env = dict(os.environ, USER=os.environ.get("USER") or "root")
    proc = subprocess.run([str(ROOT / "runtime" / "image" / "build.sh"), "--no-tarball"],
                          capture_output=True, text=True, env=env, timeout=2400)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert (IMAGE / "opt" / "soilbiome" / ".venv" / "bin" / "soilbiome").exists()
    return IMAGE


@pytest.fixture(scope="session")
def charliecloud_run(image: Path, tmp_path_factory: pytest.TempPathFactory):
    launch = tmp_path_factory.mktemp("nf_charliecloud")
    outdir = launch / "results"
    os.environ.setdefault("USER", "root")  # ch-run needs it
    proc = run_nextflow("run", str(MAIN), "-profile", "test,charliecloud", "--outdir",
                        str(outdir), cwd=launch)
    return outdir, proc


def test_every_task_ran_in_the_image(charliecloud_run, image: Path) -> None:  # noqa: ANN001
    outdir, proc = charliecloud_run
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]
    rows = trace_rows(outdir)
    assert len(rows) >= 20 and all(r["status"] == "COMPLETED" for r in rows)
    assert {Path(r["container"]).resolve() for r in rows} == {image.resolve()}
    for row in rows:  # each task's launcher went through ch-run into that image
        wrapper = (Path(row["workdir"]) / ".command.run").read_text()
        assert "ch-run" in wrapper and str(Path(row["container"])) in wrapper, row["name"]


def test_charliecloud_results_equal_the_host_run(charliecloud_run, test_profile_run) -> None:  # noqa: ANN001
    box, proc = charliecloud_run
    host, host_proc = test_profile_run
    assert proc.returncode == 0 and host_proc.returncode == 0
    for name in ("dada2/asv_counts.tsv", "dada2/asv.fasta", "taxonomy/lineage.tsv",
                 "dada2/read_tracking.tsv"):
        assert (box / name).read_bytes() == (host / name).read_bytes(), name
    a, b = read_table(box / "biom" / "asv_table.biom"), read_table(host / "biom" / "asv_table.biom")
    assert a.sample_ids == b.sample_ids and a.feature_ids == b.feature_ids
    assert (a.counts != b.counts).nnz == 0
    pd.testing.assert_frame_equal(a.taxonomy, b.taxonomy)
    assert a.context == b.context and a.tree == b.tree
    for name in ("alpha_diversity.tsv", "beta_braycurtis.tsv", "beta_jaccard.tsv",
                 "beta_unweighted_unifrac.tsv", "beta_weighted_unifrac.tsv"):
        x = pd.read_csv(box / "diversity" / name, sep="\t", index_col=0)
        y = pd.read_csv(host / "diversity" / name, sep="\t", index_col=0)
        assert list(x.index) == list(y.index) and list(x.columns) == list(y.columns), name
        num = x.select_dtypes("number").columns
        np.testing.assert_allclose(x[num].to_numpy(float), y[num].to_numpy(float),
                                   rtol=0, atol=1e-12, err_msg=name)
