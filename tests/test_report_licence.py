"""The report's licence section states the verdict of ``soilbiome verify`` on the published table.

The STAMP and REPORT steps are replayed outside Nextflow with the commands of
``pipeline/modules/stamp.nf`` (run in a folder laid out like a Nextflow task), then the table
is "published" the way ``publishOnSuccess`` and the run crate do, and the command the report
names is run on it.
"""

from __future__ import annotations

import html
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from sharing.conftest import OPEN, OPEN_SAMPLES, make_biom

from soilbiome.io.hashing import sha256_file
from soilbiome.sharing import generate_key, rewrite_trusted_keys
from soilbiome.sharing.stamp_format import sidecar_path

RUN_NAME = "happy_turing"


def soilbiome(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k != "SOILBIOME_SIGNING_KEY"}
    return subprocess.run([sys.executable, "-m", "soilbiome", *map(str, args)], cwd=cwd,
                          capture_output=True, text=True, env=env, timeout=300)


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    base = tmp_path_factory.mktemp("licence")
    key = generate_key(base / "provider.key")
    task = base / "work" / "3f" / "0123456789abcdef"  # like a Nextflow task folder
    (task / "unstamped").mkdir(parents=True)
    rewrite_trusted_keys(OPEN, task / "agreement.yaml", [(key, "provider-cl")],
                         valid_from="2025-01-01", valid_until="2099-12-31")
    make_biom(task / "unstamped" / "asv_table.biom", OPEN_SAMPLES, metadata=True)
    # STAMP, as in pipeline/modules/stamp.nf
    stamp = soilbiome("stamp", "unstamped/asv_table.biom", "--agreement", "agreement.yaml",
                      "--key", key.private_key_path, "--run-id", RUN_NAME,
                      "--run-crate", "../ro-crate-metadata.json", "-o", "stamped/asv_table.biom",
                      "--verify-json", "asv_table.verify.json", cwd=task)
    assert stamp.returncode == 0, stamp.stderr
    # the report stamp --verify-json wrote is the one verify itself gives
    verify = soilbiome("verify", "stamped/asv_table.biom", "--agreement", "agreement.yaml",
                       "--before-publication", "--json", cwd=task)
    assert verify.returncode == 0, verify.stdout  # D7/D9 after publication: nothing undecided
    assert json.loads((task / "asv_table.verify.json").read_text()) == json.loads(verify.stdout)
    # REPORT
    table = task / "stamped" / "asv_table.biom"
    div = soilbiome("diversity", table, "--outdir", base / "div", "--permutations", "9",
                    cwd=base)
    assert div.returncode == 0, div.stderr
    report = soilbiome("report", "--biom", table, "--diversity", base / "div",
                       "--verification", task / "asv_table.verify.json",
                       "--out", base / "soilbiome_report.html", cwd=base)
    assert report.returncode == 0, report.stderr
    # publication: table, sidecar and agreement copied into the results folder, crate last
    results = base / "results"
    (results / "biom").mkdir(parents=True)
    (results / "sharing").mkdir()
    shutil.copy(table, results / "biom" / table.name)
    shutil.copy(sidecar_path(table), results / "biom" / sidecar_path(table).name)
    shutil.copy(task / "agreement.yaml", results / "sharing" / "agreement.yaml")
    published = results / "biom" / table.name
    graph = [
        {"@id": "ro-crate-metadata.json", "@type": "CreativeWork", "about": {"@id": "./"}},
        {"@id": "./", "@type": "Dataset",
         "license": {"@id": "https://spdx.org/licenses/CC-BY-4.0"}},
        {"@id": "biom/asv_table.biom", "@type": "File", "sha256": sha256_file(published),
         "contentSize": str(published.stat().st_size)},
        {"@id": f"#{RUN_NAME}", "@type": "CreateAction", "identifier": RUN_NAME},
    ]
    (results / "ro-crate-metadata.json").write_text(json.dumps({"@graph": graph}))
    return {"base": base, "task": task, "results": results,
            "verification": task / "asv_table.verify.json",
            "html": base / "soilbiome_report.html"}


def _licence(run: dict[str, Path]) -> str:
    page = run["html"].read_text()
    start = page.index("<h3>Licence stamp</h3>")
    return page[start: page.index("<h3>", start + 10)]


def _rows(section: str) -> dict[str, str]:
    return dict(re.findall(r"<tr><td>(D\d+)</td><td>[^<]*</td><td>([^<]*)</td>", section))


def test_licence_section_has_no_work_paths(run: dict[str, Path]) -> None:
    section = _licence(run)
    assert str(run["base"]) not in section and "/work/3f/" not in section
    assert "0123456789abcdef" not in section
    assert "<code>biom/asv_table.biom</code>" in section  # named as published
    # the verification JSON itself names only relative paths
    assert str(run["base"]) not in run["verification"].read_text()


def test_licence_section_states_the_verify_verdict_and_the_statement(
    run: dict[str, Path]
) -> None:
    section = _licence(run)
    assert "OK: the stamp verifies (8 rules passed)" in section  # D1-D6, D8, D10
    assert "undecided" not in section and "need a person" not in section
    rows = _rows(section)
    assert rows == {**{f"D{i}": "passed" for i in (1, 2, 3, 4, 5, 6, 8, 10)},
                    "D7": "after publication", "D9": "after publication"}
    text = html.unescape(section)
    assert "What the recipient may do" in text
    credit = "Data: Desert Soil Microbiology Laboratory, Atacama soil 16S survey (2025)"
    assert credit in text and "DUO:0000042 general research use" in text


def test_the_named_command_decides_the_published_table_the_same_way(
    run: dict[str, Path]
) -> None:
    section = html.unescape(_licence(run))
    [command] = set(re.findall(r"<code>(soilbiome verify [^<]+)</code>", section))
    proc = soilbiome(*shlex.split(command)[1:], "--json", cwd=run["results"])
    assert proc.returncode == 0, proc.stdout
    published = json.loads(proc.stdout)
    statuses = {r["rule"]: r["status"] for r in published["rules"]}
    assert statuses == {f"D{i}": "passed" for i in range(1, 11)}
    before = json.loads(run["verification"].read_text())
    in_report = {r["rule"]: r["status"] for r in before["rules"]}
    # every rule the report decided is decided the same way on the published table; the two
    # it left for after publication now pass
    assert {r: s for r, s in in_report.items() if s != "after_publication"} == \
        {r: statuses[r] for r in in_report if in_report[r] != "after_publication"}
    assert {r for r, s in in_report.items() if s == "after_publication"} == {"D7", "D9"}
    # the same statement of what the recipient may do
    assert published["statement"] == before["statement"]
    assert published["statement"] in section
