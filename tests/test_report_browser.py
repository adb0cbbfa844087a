"""The report looked at in a real browser (headless Chromium, Debian package ``chromium``).

A probe script is appended to a copy of the report; Chromium loads the page, runs plotly and
our rank switch, the probe measures what a reader sees and writes it into the DOM, and
``--dump-dom`` hands that back.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from click.testing import CliRunner
from test_report import GENERA, PHYLA, SITES, make_table

from soilbiome.cli import main

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="chromium not installed")

PROBE = """<script>
window.addEventListener("load", function () { setTimeout(function () {
  var out = {};
  var div = document.getElementById("fig-composition");
  function shown() {
    return {
      traces: div.data.filter(function (t) { return t.visible === true; })
                      .map(function (t) { return t.meta + ":" + t.name; }),
      legend: Array.prototype.map.call(div.querySelectorAll(".legendtext"),
                                       function (e) { return e.textContent; }),
      label: document.getElementById("composition-rank").textContent
    };
  }
  out.initial = shown();
  var sel = document.getElementById("rank-select");
  out.options = Array.prototype.map.call(sel.options, function (o) { return o.value; });
  sel.value = "genus";
  sel.dispatchEvent(new Event("change"));
  out.genus = shown();
  var box = document.querySelector("#provenance .scroll:last-of-type");
  var sec = document.getElementById("provenance");
  out.box = {scroll: box.scrollWidth, client: box.clientWidth,
             overflowX: getComputedStyle(box).overflowX};
  out.section = {scroll: sec.scrollWidth, client: sec.clientWidth};
  out.page = {scroll: document.documentElement.scrollWidth, client: window.innerWidth};
  out.headings = Array.prototype.map.call(document.querySelectorAll("section h2"),
                                          function (e) { return e.textContent; });
  out.title = document.querySelector("header h1").textContent;
  var pre = document.createElement("pre");
  pre.id = "probe";
  pre.textContent = JSON.stringify(out);
  document.body.appendChild(pre);
}, 300); });
</script>"""


def _probe(page: Path, tmp_path: Path, width: int = 1000) -> dict:
    probed = tmp_path / "probed.html"
    probed.write_text(page.read_text().replace("</body>", PROBE + "</body>"))
    proc = subprocess.run(
        [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
         f"--window-size={width},900", "--virtual-time-budget=10000", "--dump-dom",
         probed.as_uri()],
        capture_output=True, text=True, timeout=180,
    )
    match = re.search(r'<pre id="probe">(.*?)</pre>', proc.stdout, re.S)
    assert match, proc.stderr[-2000:]
    text = match.group(1).replace("&quot;", '"').replace("&lt;", "<").replace("&gt;", ">")
    return json.loads(text.replace("&amp;", "&"))


@pytest.fixture(scope="module")
def probed(tmp_path_factory: pytest.TempPathFactory) -> dict:
    d = tmp_path_factory.mktemp("browser")
    table = make_table(d / "table.biom")
    res = CliRunner().invoke(main, ["diversity", str(table), "--outdir", str(d / "div"),
                                    "--permutations", "9"])
    assert res.exit_code == 0, res.output
    res = CliRunner().invoke(main, ["report", "--biom", str(table), "--diversity",
                                    str(d / "div"), "--out", str(d / "r.html"),
                                    "--batch-name", "Solling 2024 plots"])
    assert res.exit_code == 0, res.output
    return _probe(d / "r.html", d)


def test_composition_switches_rank_in_the_page(probed: dict) -> None:
    assert probed["options"] == ["domain", "kingdom", "phylum", "class", "order", "family",
                                 "genus", "species"]
    initial, genus = probed["initial"], probed["genus"]
    assert initial["label"] == "phylum" and genus["label"] == "genus"
    assert {t.split(":", 1)[0] for t in initial["traces"]} == {"phylum"}
    assert {t.split(":", 1)[0] for t in genus["traces"]} == {"genus"}
    # what the reader sees in the legend follows the switch
    assert set(PHYLA) <= set(initial["legend"]) and not set(GENERA) & set(initial["legend"])
    assert set(GENERA) <= set(genus["legend"]) and not set(PHYLA) & set(genus["legend"])


def test_wide_table_scrolls_inside_its_box(probed: dict) -> None:
    box, sec, page = probed["box"], probed["section"], probed["page"]
    assert box["scroll"] > box["client"], "the sample metadata table is wider than its box"
    assert box["overflowX"] == "auto"
    assert sec["scroll"] <= sec["client"] + 1  # the section itself does not overflow
    assert page["scroll"] <= page["client"] + 1  # nor does the page


def test_batch_name_is_the_heading_and_provenance_is_shown(probed: dict) -> None:
    assert probed["title"] == "Solling 2024 plots"
    assert "Provenance" in probed["headings"]
    assert probed["headings"][0] == "Samples" and len(SITES) == 8
