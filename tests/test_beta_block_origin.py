"""``beta assemble`` refuses blocks of another table, metric, rarefaction or plan, blocks with
edited or impossible values, and unreadable block files: one line, exit 2, nothing written."""

from __future__ import annotations

import csv
import hashlib
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner, Result
from test_diversity import random_counts, write_biom

from soilbiome.cli import main

RARE = ["--rarefaction-depth", "9", "--seed", "5"]


def _run(*args: str) -> Result:
    return CliRunner().invoke(main, [str(a) for a in args])


def _blocks(table: Path, plan: Path, metric: str, outdir: Path, *rare: str) -> list[Path]:
    out = []
    for row in csv.DictReader(plan.open()):
        path = outdir / f"{metric}_{row['block']}_{plan.stem}_{rare[-1]}.npz"
        res = _run("beta", "block", table, "--metric", metric, "--rows", row["rows"],
                   "--cols", row["cols"], "--out", path, *rare)
        assert res.exit_code == 0, res.output
        out.append(path)
    return out


@pytest.fixture(scope="module")
def made(tmp_path_factory: pytest.TempPathFactory) -> dict:
    d = tmp_path_factory.mktemp("blocks")
    a = write_biom(random_counts(7), d / "a.biom")
    b = write_biom(random_counts(8), d / "b.biom")  # same sample IDs, other counts
    plans = {}
    for name, table, k in (("a3", a, 3), ("a2", a, 2), ("b3", b, 3)):
        plans[name] = d / f"plan_{name}.csv"
        res = _run("beta", "plan", table, "--blocks", k, "--out", plans[name], *RARE)
        assert res.exit_code == 0, res.output
    return {
        "dir": d, "a": a, "b": b, "plans": plans,
        "bray": _blocks(a, plans["a3"], "braycurtis", d, *RARE),
        "jac": _blocks(a, plans["a3"], "jaccard", d, *RARE),
        "bray_b": _blocks(b, plans["b3"], "braycurtis", d, *RARE),
        "bray_k2": _blocks(a, plans["a2"], "braycurtis", d, *RARE),
        "bray_seed": _blocks(a, plans["a3"], "braycurtis", d, "--rarefaction-depth", "9",
                             "--seed", "6"),
    }


def _assemble(made: dict, blocks: list[Path], out: Path, metric: str = "braycurtis",
              table: str = "a", plan: str | None = "a3") -> Result:
    extra = ["--plan", made["plans"][plan]] if plan else []
    return _run("beta", "assemble", made[table], *blocks, "--metric", metric, "--out", out,
                "--tsv", out.with_suffix(".tsv"), *extra, *RARE)


def _refused(res: Result, out: Path, *words: str) -> str:
    """Exit 2, one line naming the problem, no traceback, nothing written."""
    assert res.exit_code == 2, res.output
    assert isinstance(res.exception, SystemExit)  # not an uncaught exception
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in res.output, res.output
    for w in words:
        assert w in lines[0], lines[0]
    assert not out.exists() and not out.with_suffix(".tsv").exists()
    assert not list(out.parent.glob(f".{out.name}.*"))  # no temp file left behind
    return lines[0]


def _rewrite(src: Path, dst: Path, fix_digest: bool = True, **fields: object) -> Path:
    """Copy a block file with some fields changed (re-digesting the values if asked)."""
    with np.load(src) as z:
        data = {k: z[k] for k in z.files}
    data.update(fields)
    if fix_digest:
        v = np.ascontiguousarray(data["values"], dtype="<f8")
        data["values_sha256"] = np.str_(hashlib.sha256(v.tobytes()).hexdigest())
    with open(dst, "wb") as fh:
        np.savez(fh, **data)
    return dst


def test_matching_blocks_assemble(made: dict, tmp_path: Path) -> None:
    out = tmp_path / "ok.h5"
    res = _assemble(made, made["bray"], out)
    assert res.exit_code == 0, res.output
    assert out.exists() and out.with_suffix(".tsv").exists()


def test_block_of_another_table_is_refused(made: dict, tmp_path: Path) -> None:
    out = tmp_path / "x.h5"
    mixed = [*made["bray"][:-1], made["bray_b"][-1]]
    line = _refused(_assemble(made, mixed, out), out, "another table")
    assert str(made["bray_b"][-1]) in line
    # all blocks of B given with table A (and without a plan): still refused
    _refused(_assemble(made, made["bray_b"], out, plan=None), out, "another table")


def test_plan_of_another_table_is_refused(made: dict, tmp_path: Path) -> None:
    out = tmp_path / "x.h5"
    line = _refused(_assemble(made, made["bray"], out, plan="b3"), out, "plan")
    assert str(made["plans"]["b3"]) in line


def test_jaccard_blocks_are_not_bray_curtis(made: dict, tmp_path: Path) -> None:
    out = tmp_path / "x.h5"
    _refused(_assemble(made, made["jac"], out, metric="braycurtis"), out,
             "jaccard, not braycurtis", str(made["jac"][0]))


def test_block_of_another_rarefaction_is_refused(made: dict, tmp_path: Path) -> None:
    out = tmp_path / "x.h5"
    mixed = [*made["bray"][1:], made["bray_seed"][0]]
    _refused(_assemble(made, mixed, out), out, "another rarefaction", str(made["bray_seed"][0]))


def test_block_outside_the_plan_is_refused(made: dict, tmp_path: Path) -> None:
    out = tmp_path / "x.h5"
    # blocks of a 2-range plan tile the matrix too, but they are not the 3-range plan's
    _refused(_assemble(made, made["bray_k2"], out), out, "not in the plan")
    _refused(_assemble(made, made["bray"][:-1], out), out, "missing")


def test_edited_values_are_refused(made: dict, tmp_path: Path) -> None:
    src = made["bray"][1]
    with np.load(src) as z:
        v = z["values"].copy()
    v.flat[0] = v.flat[0] / 2  # still a possible distance
    bad = _rewrite(src, tmp_path / "edited.npz", fix_digest=False, values=v)
    out = tmp_path / "x.h5"
    _refused(_assemble(made, [made["bray"][0], bad, *made["bray"][2:]], out), out,
             "edited", str(bad))


def _diagonal_block(made: dict) -> Path:
    for p in made["bray"]:
        with np.load(p) as z:
            if list(z["rows"]) == list(z["cols"]):
                return p
    raise AssertionError("no diagonal block")


@pytest.mark.parametrize(("change", "words"), [
    ("negative", "negative"),
    ("nan", "NaN or infinite"),
    ("inf", "NaN or infinite"),
    ("above_one", "above 1"),
    ("diagonal", "distance to itself is 0"),
    ("asymmetric", "not symmetric"),
])
def test_impossible_values_are_refused(made: dict, tmp_path: Path, change: str,
                                       words: str) -> None:
    src = _diagonal_block(made)
    with np.load(src) as z:
        v = z["values"].copy()
    assert v.shape[0] >= 2 and v[0, 1] > 0
    if change == "negative":
        v[0, 1] = v[1, 0] = -0.25
    elif change == "nan":
        v[0, 1] = v[1, 0] = np.nan
    elif change == "inf":
        v[0, 1] = v[1, 0] = np.inf
    elif change == "above_one":
        v[0, 1] = v[1, 0] = 1.5
    elif change == "diagonal":
        v[0, 0] = 0.1
    else:
        v[0, 1] = v[0, 1] / 2
    bad = _rewrite(src, tmp_path / f"{change}.npz", values=v)
    blocks = [bad if p == src else p for p in made["bray"]]
    out = tmp_path / "x.h5"
    _refused(_assemble(made, blocks, out), out, words, str(bad))


def test_unreadable_block_files_are_refused(made: dict, tmp_path: Path) -> None:
    src = made["bray"][0]
    text = tmp_path / "text.npz"
    text.write_text("rows\tcols\tvalues\n0:5\t0:5\t0.1\n")
    with np.load(src) as z:
        old = {k: z[k] for k in ("rows", "cols", "values")}
    legacy = tmp_path / "legacy.npz"  # a block file of the previous version: no origin
    with open(legacy, "wb") as fh:
        np.savez(fh, **old)
    objects = _rewrite(src, tmp_path / "objects.npz", fix_digest=False,
                       values=np.array([{"a": 1}, None], dtype=object))
    single = tmp_path / "single.npy"
    np.save(single, old["values"])
    truncated = tmp_path / "truncated.npz"
    truncated.write_bytes(src.read_bytes()[:200])
    cases = [(text, "not an .npz archive"), (legacy, "no format"), (objects, "unreadable"),
             (single, "not a block file"), (truncated, "unreadable")]
    for bad, words in cases:
        out = tmp_path / "x.h5"
        _refused(_assemble(made, [bad, *made["bray"][1:]], out), out, words, str(bad))
