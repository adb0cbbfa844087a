"""Reports made from hostile metadata, opened in headless Chromium: no script runs, the text
is shown as text.

Sample IDs, site names, a locality and taxon names carry ``<script>``, attribute break-outs
(``"><img src=x onerror=...>``), ``<svg onload=...>`` and ``javascript:`` links; every payload
would change ``document.title`` to ``PWNED-...`` if it ran. A probe appended to a copy of the
page records, after plotly has drawn everything, the title, any element with an event handler
attribute, any ``javascript:`` link, and the visible text (HTML text and the plots' SVG text);
``--dump-dom`` hands that back. The batch report (``soilbiome report``) and the comparison
report (``soilbiome compare``) are both opened.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
import shutil
import subprocess
from pathlib import Path

import biom
import h5py
import numpy as np
import pytest
from click.testing import CliRunner

from soilbiome.cli import main

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="chromium not installed")
OFFLINE = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
           "--proxy-server=127.0.0.1:9", "--host-resolver-rules=MAP * ~NOTFOUND",
           "--hide-scrollbars", "--force-device-scale-factor=1", "--virtual-time-budget=10000"]

SAMPLES = ['<script>document.title="PWNED-S"</script>',
           '"><img src=x onerror="document.title=\'PWNED-I\'">',
           "javascript:document.title='PWNED-J'",
           "S4", "S5", "S6"]
SITES = ["<svg onload=document.title='PWNED-SITE'>",
         '<a href="javascript:document.title=\'PWNED-A\'">click</a>',
         "<svg onload=document.title='PWNED-SITE'>",
         '<a href="javascript:document.title=\'PWNED-A\'">click</a>',
         "plain", "plain"]
LOCALITY = "</script><script>document.title='PWNED-G'</script>"
TAXON = "<img src=x onerror=document.title='PWNED-T'>"

PROBE = """<script>
window.addEventListener("load", function () { setTimeout(function () {
  var all = document.querySelectorAll("*"), handlers = [];
  for (var i = 0; i < all.length; i++) {
    for (var j = 0; j < all[i].attributes.length; j++) {
      var a = all[i].attributes[j];
      if (/^on/i.test(a.name)) handlers.push(all[i].tagName + " " + a.name);
    }
  }
  var links = Array.prototype.filter.call(document.querySelectorAll("[href]"), function (e) {
    return /^\\s*javascript:/i.test(e.getAttribute("href"));
  }).map(function (e) { return e.outerHTML; });
  var svg = Array.prototype.map.call(document.querySelectorAll("svg text"),
                                     function (e) { return e.textContent; });
  var out = {title: document.title, handlers: handlers, links: links,
             imgs: document.querySelectorAll("img[src=x]").length,
             scripts: document.scripts.length, text: document.body.innerText, svg: svg,
             bars: Array.prototype.map.call(
               document.querySelectorAll("#fig-composition .xtick text"),
               function (e) { return e.textContent; }),
             plots: document.querySelectorAll(".js-plotly-plot .main-svg").length};
  var pre = document.createElement("pre");
  pre.id = "probe";
  pre.textContent = JSON.stringify(out);
  document.body.appendChild(pre);
}, 500); });
</script>"""


def _probe(page: Path) -> dict:
    probed = page.with_name("probed-" + page.name)
    html = page.read_text()
    probed.write_text(html.replace("</body>", PROBE + "</body>"))
    proc = subprocess.run([CHROMIUM, *OFFLINE, "--window-size=1200,900", "--dump-dom",
                           probed.as_uri()], capture_output=True, text=True, timeout=240)
    match = re.search(r'<pre id="probe">(.*?)</pre>', proc.stdout, re.S)
    assert match, proc.stderr[-2000:]
    text = match.group(1).replace("&quot;", '"').replace("&lt;", "<").replace("&gt;", ">")
    probe = json.loads(text.replace("&amp;", "&"))
    probe["own_scripts"] = html.count("<script")  # scripts the page itself carries
    return probe


def _assert_nothing_ran(probe: dict) -> None:
    assert not re.fullmatch(r"PWNED-\w+", probe["title"]), probe["title"]  # a payload ran
    assert probe["handlers"] == [], probe["handlers"]
    assert probe["links"] == [] and probe["imgs"] == 0
    # no script element was added by the data: the page's own ones plus the probe
    assert probe["scripts"] == probe["own_scripts"] + 1
    assert probe["plots"] >= 3


def _hostile_table(path: Path) -> Path:
    rng = np.random.default_rng(11)
    seqs = ["".join(rng.choice(list("ACGT"), 60)) for _ in range(20)]
    ids = [hashlib.md5(s.encode()).hexdigest() for s in seqs]
    counts = rng.integers(5, 60, size=(20, len(SAMPLES))).astype(float)
    taxonomy = [["d__Bacteria", "k__", f"p__{TAXON}" if i % 2 else "p__Firmicutes", "c__",
                 "o__", "f__", f"g__{TAXON}" if i % 2 else "g__Bacillus", "s__"]
                for i in range(20)]
    obs_md = [{"taxonomy": t, "sequence": s} for t, s in zip(taxonomy, seqs, strict=True)]
    smd = [{"site": site, "geo_loc_name": f"Chile: {LOCALITY}", "lat_lon": "24.10 S 69.87 W",
            "ph": f"{5 + 0.4 * k:.1f}"} for k, site in enumerate(SITES)]
    table = biom.Table(counts, ids, SAMPLES, obs_md, smd, type="OTU table")
    with h5py.File(path, "w") as handle:
        table.to_hdf5(handle, "soilbiome tests")
    return path


def _cli(*args: object) -> None:
    res = CliRunner().invoke(main, [str(a) for a in args])
    assert res.exit_code == 0, res.output


def test_batch_report_from_hostile_metadata_runs_no_script(tmp_path: Path) -> None:
    table = _hostile_table(tmp_path / "hostile.biom")
    _cli("diversity", table, "--outdir", tmp_path / "div", "--group-by", "site",
         "--permutations", "9", "--env", "ph")
    page = tmp_path / "report.html"
    _cli("report", "--biom", table, "--diversity", tmp_path / "div", "--out", page,
         "--batch-name", SAMPLES[0])
    probe = _probe(page)
    _assert_nothing_ran(probe)
    assert probe["title"] == f"{SAMPLES[0]} · soilbiome report"  # the batch name, as text
    # shown literally: as page text (tables, headings) and in the plots' SVG text
    for text in (SAMPLES[0], SAMPLES[1], SAMPLES[2], SITES[0], LOCALITY):
        assert text in probe["text"], text
    svg = "\n".join(probe["svg"])
    assert TAXON in probe["svg"], "the phylum is not shown, as text, in the plots' legend"
    assert SITES[1] in probe["svg"] and SITES[0] in svg  # a group name is not a link
    # one bar per sample, each named by its ID (an unescaped category order once gave the
    # <script> sample a second, empty bar)
    assert sorted(probe["bars"]) == sorted(SAMPLES)
    # a screenshot to look at (kept next to the page)
    shot = tmp_path / "report.png"
    subprocess.run([CHROMIUM, *OFFLINE, "--window-size=1200,2400", f"--screenshot={shot}",
                    page.as_uri()], capture_output=True, timeout=240)
    assert shot.is_file() and shot.stat().st_size > 10_000


def test_compare_report_from_hostile_metadata_runs_no_script(tmp_path: Path) -> None:
    from test_compare import NOW, TODAY, _agreement

    from soilbiome.sharing import generate_key, stamp_biom

    key = generate_key(tmp_path / "provider.key")
    comparer = generate_key(tmp_path / "comparer.key")
    inputs = []
    for name in ("a", "b"):
        table = _hostile_table(tmp_path / f"{name}.biom")
        with h5py.File(table, "r+") as f:
            f.attrs["soilbiome:marker"] = "16S"
            f.attrs["soilbiome:region"] = "V4"
            f.attrs["soilbiome:value-kind"] = "counts"
            f.attrs["provider_country"] = "CL"
        escaped = [s.replace("\\", "\\\\").replace('"', '\\"') for s in SAMPLES]
        agreement = _agreement(tmp_path, name, f"provider-{name}", escaped, key, "CC-BY-4.0")
        stamp_biom(table, agreement, key.private_key_path, today=dt.date(2025, 6, 15), now=NOW)
        inputs += [table, "--agreement", agreement]
    out = tmp_path / "cmp"
    args = [inputs[0], inputs[3], *inputs[1:3], *inputs[4:6]]
    _cli("compare", *args, "--group", "site", "--out", out, "--key",
         comparer.private_key_path, "--today", TODAY, "--permutations", "9", "--env", "ph")
    probe = _probe(out / "report.html")
    _assert_nothing_ran(probe)
    assert SITES[0] in probe["text"] and SITES[1] in probe["text"]
    assert any(SAMPLES[0] in t for t in probe["text"].splitlines() + probe["svg"])
    assert TAXON in probe["svg"] and SITES[1] in probe["svg"]
