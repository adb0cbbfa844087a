"""The container route (issue 17): `make image` builds soilbiome's image from Debian's package
archive alone (debootstrap + Charliecloud), and `-profile test,charliecloud` runs every task in
it with the same ASV counts, BIOM table and diversity as the host run. The exchange node
(issue 20) serves from the same image.

The image is built once per session into .runtime/image/ (build.sh only checks it when it is
up to date); SOILBIOME_IMAGE_DIR=DIR builds and uses DIR instead (e.g. a checkout that must
not replace a shared image)."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from conftest import MAIN, ROOT, run_nextflow, trace_rows
from soilbiome.cli import main
from soilbiome.io.biom_reader import read_table

IMAGE_DIR = Path(os.environ.get("SOILBIOME_IMAGE_DIR") or ROOT / ".runtime" / "image")
IMAGE = IMAGE_DIR / "soilbiome"

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
    proc = subprocess.run([str(ROOT / "runtime" / "image" / "build.sh"), "--no-tarball",
                           str(IMAGE_DIR)], capture_output=True, text=True, env=env,
                          timeout=2400)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert (IMAGE / "opt" / "soilbiome" / ".venv" / "bin" / "soilbiome").exists()
    return IMAGE


@pytest.fixture(scope="session")
def charliecloud_run(image: Path, tmp_path_factory: pytest.TempPathFactory):
    launch = tmp_path_factory.mktemp("nf_charliecloud")
    outdir = launch / "results"
    os.environ.setdefault("USER", "root")  # ch-run needs it
    proc = run_nextflow("run", str(MAIN), "-profile", "test,charliecloud", "--outdir",
                        str(outdir), "--container_image", str(image), cwd=launch)
    return outdir, proc


def test_every_task_ran_in_the_image(charliecloud_run, image: Path,  # noqa: ANN001
                                     test_profile_run) -> None:  # noqa: ANN001
    outdir, proc = charliecloud_run
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]
    rows = trace_rows(outdir)
    assert all(r["status"] == "COMPLETED" for r in rows)
    # the same tasks as the host run of the same profile (every one of them, in the image)
    host = trace_rows(test_profile_run[0])
    assert len(rows) >= 12 and sorted(r["name"] for r in rows) == sorted(r["name"] for r in host)
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


def test_the_exchange_node_serves_from_the_image(image: Path, tmp_path: Path) -> None:
    """`soilbiome node serve` inside the image (ch-run, the image's own environment) on a free
    loopback port with a bind-mounted --data folder: a table published from the host is
    verified by the node in the container, stored in that folder and listed by the catalogue
    API the host reads; the node stops on SIGTERM to its pid."""
    from node.kit import A_SAMPLES, GENERA, TODAY, free_port, http, institution, members_file

    lab = institution(tmp_path, "desert_lab", "open-cc-by.yaml", "provider-cl", A_SAMPLES,
                      GENERA[:3], 1)
    mount = tmp_path / "mnt"
    mount.mkdir()
    members_file(mount / "members.yaml", [{"name": "Desert Soil Microbiology Laboratory",
                                           "public_key_b64": lab["b64"], "country": "CL"}])
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    log = tmp_path / "node.log"
    env = dict(os.environ, USER=os.environ.get("USER") or "root")
    # --unset-env: nothing of the host's environment (PYTHONPATH, venv) reaches the node;
    # --set-env: the image's /ch/environment (PATH to /opt/soilbiome/.venv/bin)
    proc = subprocess.Popen(
        ["ch-run", "--unset-env=*", "--set-env", "--set-env=HOME=/root", "-b", f"{mount}:/mnt",
         str(image), "--", "soilbiome", "node", "serve", "--data", "/mnt/data", "--members",
         "/mnt/members.yaml", "--host", "127.0.0.1", "--port", str(port), "--today", TODAY],
        stdout=subprocess.DEVNULL, stderr=log.open("w"), env=env)
    try:
        deadline = time.time() + 120
        while not _answers(http, url + "/api/audit/head"):
            assert proc.poll() is None, log.read_text()[-2000:]
            assert time.time() < deadline, "node did not start: " + log.read_text()[-2000:]
            time.sleep(0.5)
        # the process is the image's soilbiome (ch-run execs it: same pid)
        cmdline = Path(f"/proc/{proc.pid}/cmdline").read_bytes().split(b"\0")
        assert any(a.startswith(b"/opt/soilbiome/.venv/") for a in cmdline), cmdline
        res = CliRunner().invoke(main, ["node", "publish", str(lab["table"]), "--agreement",
                                        str(lab["agreement"]), "--node", url, "--key",
                                        str(lab["key"]), "--json"])
        assert res.exit_code == 0, res.output + log.read_text()[-2000:]
        table_id = json.loads(res.output)["id"]
        status, headers, body = http("GET", url + "/api/catalogue?licence=cc-by-4.0")
        assert status == 200 and headers["content-type"] == "application/json"
        cat = json.loads(body)
        assert cat["count"] == 1 and cat["next"] is None
        entry = cat["tables"][0]
        assert entry["id"] == table_id and entry["drs_uri"] == f"drs://127.0.0.1:{port}/{table_id}"
        assert sorted(s["sample_id"] for s in entry["samples"]) == sorted(A_SAMPLES)
        # the data went to the bind-mounted folder on the host, content-addressed
        stored = mount / "data" / "blobs" / table_id[:2] / table_id[2:]
        assert stored.read_bytes() == lab["table"].read_bytes()
        assert (mount / "data" / "node.sqlite3").is_file()
    finally:
        os.kill(proc.pid, signal.SIGTERM)
        try:
            code = proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()
            raise
    # SIGTERM: uvicorn shuts down, then the signal reaches soilbiome's handler (one line,
    # exit 143) or, without it, the process (-15)
    assert code in (0, 143, -signal.SIGTERM), log.read_text()[-2000:]
    assert not _listening(port)


def _listening(port: int) -> bool:
    import socket

    with socket.socket() as s:
        s.settimeout(1)
        return s.connect_ex(("127.0.0.1", port)) == 0


def _answers(http, url: str) -> bool:  # noqa: ANN001
    try:
        return http("GET", url)[0] == 200
    except OSError:  # not listening yet
        return False
