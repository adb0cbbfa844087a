"""--mode compare: the comparison as a Nextflow run, distance blocks fanned out as tasks.

The SLURM test runs the blocks on the throwaway cluster (tests/slurm_cluster.py) and checks
that the matrices assembled from >= 4 blocks equal the single-process ones byte for byte.
"""

from __future__ import annotations

import csv
import datetime as dt
import json
import time
from pathlib import Path

import pytest
from click.testing import CliRunner
from test_compare import NOW, _agreement, _table
from test_diversity import atacama_counts
from test_unifrac import random_tree

from conftest import MAIN, assert_strict_json_tree, run_nextflow, trace_rows
from soilbiome.cli import main
from soilbiome.diversity.unifrac import UNIFRAC_METRICS
from soilbiome.sharing import generate_key, stamp_biom

BLOCKS = 3  # 3 row ranges -> 6 blocks per metric


def make_inputs(tmp: Path) -> tuple[Path, Path]:
    """Two institutions' stamped Atacama tables and the --tables sheet; the comparer's key."""
    counts, seqs = atacama_counts()
    key = generate_key(tmp / "provider.key")
    comparer = generate_key(tmp / "comparer.key")
    rows = []
    for name, party, keep in (("a", "provider-a", lambda s: s.startswith("BAQ")),
                              ("b", "provider-b", lambda s: not s.startswith("BAQ"))):
        samples = [s for s in counts.index if keep(s)]
        ag = _agreement(tmp, name, party, samples, key, "CC-BY-4.0")
        sub = counts.loc[samples]
        sub = sub.loc[:, sub.sum(axis=0) > 0]
        table = _table(tmp, name, sub, {f: seqs[f] for f in sub.columns})
        # laid out as two pipeline runs publish them: the same file names in both
        run = tmp / f"lab_{name}" / "results"
        (run / "biom").mkdir(parents=True)
        (run / "sharing").mkdir()
        published, agreement = run / "biom" / "asv_table.biom", run / "sharing" / "agreement.yaml"
        table.rename(published)
        ag.rename(agreement)
        stamp_biom(published, agreement, key.private_key_path, today=dt.date(2025, 6, 15),
                   now=NOW)
        rows.append({"table": str(published.relative_to(tmp)),
                     "agreement": str(agreement.relative_to(tmp))})
    sheet = tmp / "tables.csv"
    with sheet.open("w", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=["table", "agreement"])
        w.writeheader()
        w.writerows(rows)
    return sheet, comparer.private_key_path


def compare_args(sheet: Path, key: Path, outdir: Path) -> list[str]:
    return ["--mode", "compare", "--tables", str(sheet), "--signing_key", str(key),
            "--today", "2025-06-15", "--beta_blocks", str(BLOCKS), "--group_by", "site",
            "--outdir", str(outdir)]


def check_distributed(outdir: Path, metrics: int = 2) -> list[str]:
    compare = outdir / "compare"
    assert (compare / "report.html").is_file() and (compare / "merged.biom").is_file()
    for metric in ("braycurtis", "jaccard"):
        one = (compare / "diversity" / f"beta_{metric}.tsv").read_bytes()
        assert (compare / "distributed" / f"beta_{metric}.tsv").read_bytes() == one, metric
        assert (compare / "distributed" / f"beta_{metric}.h5").is_file()
    trace = trace_rows(outdir)
    blocks = [t for t in trace if t["process"].endswith("BETA_BLOCK")]
    assert len(blocks) == metrics * BLOCKS * (BLOCKS + 1) // 2 >= 4
    assert all(t["status"] == "COMPLETED" for t in trace)
    return [t["native_id"] for t in blocks]


def check_unifrac(outdir: Path, tree: Path, tmp: Path, branch_lengths: str) -> None:
    """The UniFrac matrices assembled from blocks equal ``soilbiome diversity --tree`` on the
    merged table with the comparison's rarefaction depth and seed and the run's
    ``--branch_lengths``, byte for byte (and not those of the other precision: the tree's
    9-decimal lengths are not single-precision values)."""
    compare = outdir / "compare"
    settings = json.loads((compare / "diversity" / "diversity.json").read_text())
    rare = settings["parameters"]["rarefaction"]
    for lengths in ("double", "single"):
        res = CliRunner().invoke(main, [
            "diversity", str(compare / "merged.biom"), "--outdir", str(tmp / lengths), "--tree",
            str(tree), "--rarefaction-depth", str(rare["depth"]), "--seed", str(rare["seed"]),
            "--branch-lengths", lengths])
        assert res.exit_code == 0, res.output
    other = "double" if branch_lengths == "single" else "single"
    for metric in UNIFRAC_METRICS:
        made = (compare / "distributed" / f"beta_{metric}.tsv").read_bytes()
        assert made == (tmp / branch_lengths / f"beta_{metric}.tsv").read_bytes(), metric
        assert made != (tmp / other / f"beta_{metric}.tsv").read_bytes(), metric


@pytest.mark.nextflow
def test_missing_compare_tree_is_refused_before_the_results_folder(tmp_path: Path) -> None:
    """A --compare_tree that is not there stops the run at start-up in one line, before the
    results folder is claimed: no run record, no lock, no folder."""
    sheet, key = make_inputs(tmp_path)
    outdir = tmp_path / "results"
    proc = run_nextflow("run", str(MAIN), *compare_args(sheet, key, outdir),
                        "--compare_tree", str(tmp_path / "no_tree.nwk"), cwd=tmp_path)
    assert proc.returncode != 0
    assert f"--compare_tree {tmp_path / 'no_tree.nwk'}: file not found" in proc.stdout + proc.stderr
    assert not outdir.exists(), sorted(str(p) for p in outdir.rglob("*"))


@pytest.mark.nextflow
def test_compare_mode_local(tmp_path: Path) -> None:
    """With --compare_tree (a tree over the ASV IDs) the UniFrac matrices are blocks too, their
    branch lengths read in the precision --branch_lengths asks for."""
    sheet, key = make_inputs(tmp_path)
    outdir = tmp_path / "results"
    tree = tmp_path / "asv_tree.nwk"
    tree.write_text(random_tree(list(atacama_counts()[0].columns), 3))
    proc = run_nextflow("run", str(MAIN), *compare_args(sheet, key, outdir),
                        "--compare_tree", str(tree), "--branch_lengths", "single", cwd=tmp_path)
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]
    check_distributed(outdir, 5)
    check_unifrac(outdir, tree, tmp_path, "single")
    # inputs that share every file name are named by run folder and file, never asv_table
    summary = json.loads((outdir / "compare" / "compare.json").read_text())
    assert [i["label"] for i in summary["inputs"]] == ["lab_a-results-asv_table",
                                                       "lab_b-results-asv_table"]
    assert [i["institution"] for i in summary["inputs"]] == ["provider-a", "provider-b"]
    assert [i["status"] for i in summary["inputs"]] == ["verified", "verified"]
    assert_strict_json_tree(outdir)


@pytest.mark.slurm
@pytest.mark.nextflow
def test_compare_blocks_on_slurm_equal_single_process(tmp_path: Path) -> None:
    from slurm_cluster import SlurmCluster, nextflow, nextflow_env, slurm_unavailable

    reason = slurm_unavailable()
    if reason:
        pytest.skip(reason)
    sheet, key = make_inputs(tmp_path)
    outdir = tmp_path / "results"
    (tmp_path / "site.config").write_text(
        "executor {\n    pollInterval = '1 sec'\n    queueStatInterval = '5 sec'\n"
        "    submitRateLimit = '100/1s'\n}\n")
    c = SlurmCluster()
    try:
        c.start()
        t0 = time.monotonic()
        proc = nextflow("run", str(MAIN), "-profile", "slurm", "-c",
                        str(tmp_path / "site.config"), "--slurm_queue", c.partition,
                        *compare_args(sheet, key, outdir), cwd=tmp_path,
                        env=c.env(nextflow_env(tmp_path)))
        assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:] + c.logs()
        jobs = check_distributed(outdir)
        finished = c.completed_jobs()
        assert all(j in finished and finished[j]["JobState"] == "COMPLETED" for j in jobs)
        print(f"\n[slurm] compare: {len(jobs)} distance blocks ran as SLURM jobs "
              f"{sorted(int(j) for j in jobs)} in {time.monotonic() - t0:.0f}s; assembled "
              "matrices byte-identical to the single-process run")
    finally:
        c.stop()
        c.cleanup(keep_logs_in=tmp_path / "slurm_logs")
