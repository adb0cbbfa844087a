"""The comparison report: batch-report style, terms in plain words, offline map, rarefaction.

The report is made by ``soilbiome compare`` on the stamped Atacama tables of two institutions
(fixture ``institutions`` of ``test_compare``), with the soil context.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner
from test_compare import TODAY, institutions  # noqa: F401  (module fixture)

from soilbiome.cli import main
from soilbiome.compare.report_sections import context_items
from soilbiome.compare.terms_text import duo_label, plain_terms
from soilbiome.report.sitemap import Site, basemap, parse_lat_lon, site_map, sites_from_metadata
from soilbiome.sharing import duo
from soilbiome.sharing.agreement import load_agreement
from soilbiome.sharing.merge import combine_terms

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "sharing_agreements" / "examples"
DEPTH = 97


@pytest.fixture(scope="module")
def compared(institutions: dict, tmp_path_factory: pytest.TempPathFactory) -> Path:  # noqa: F811
    (a, ag_a), (b, ag_b) = institutions["a"], institutions["b"]
    out = tmp_path_factory.mktemp("cmpreport") / "cmp"
    res = CliRunner().invoke(main, [
        "compare", str(a), str(b), "--agreement", str(ag_a), "--agreement", str(ag_b),
        "--group", "site", "--out", str(out), "--key", str(institutions["comparer"]),
        "--rarefaction-depth", str(DEPTH), "--env", "ph,tot_org_carb", "--today", TODAY,
        "--permutations", "99"])
    assert res.exit_code == 0, res.output
    return out


def _text(html: str) -> str:
    """Visible text of the page body without scripts and tags, whitespace collapsed."""
    body = html[html.index("<body>"):]
    body = re.sub(r"<script\b.*?</script>", " ", body, flags=re.S)
    body = re.sub(r"<[^>]+>", " ", body)
    return re.sub(r"\s+", " ", body).replace("&#x27;", "'").replace("&amp;", "&")


def _section(html: str, key: str) -> str:
    """Visible text of one ``<section id=key>``."""
    match = re.search(rf'<section id="{key}">(.*?)</section>', html, re.S)
    assert match, key
    return _text("<body>" + match.group(1)).strip()


def test_report_has_the_batch_style_and_every_section(compared: Path) -> None:
    html = (compared / "report.html").read_text()
    template = (ROOT / "src" / "soilbiome" / "data" / "report_template.html").read_text()
    style = template[template.index("<style>"):template.index("</style>")]
    assert style in html  # the batch report's page and style
    ids = re.findall(r'<section id="([^"]+)">', html)
    assert ids == ["overview", "terms", "inputs", "sites", "rarefaction", "composition",
                   "alpha", "pcoa", "tests", "soil", "outputs"]
    nav = re.search(r"<nav>(.*?)</nav>", html, re.S).group(1)
    assert all(f'href="#{k}"' in nav for k in ids)
    # batch building blocks on the merged table: rank switch, alpha, PCoA by site and
    # institution, soil context with the fitted vectors (--env)
    for fig in ("fig-composition", "fig-alpha", "fig-pcoa-braycurtis-site",
                "fig-pcoa-jaccard-site", "fig-pcoa-braycurtis-institution", "fig-soil-envfit",
                "fig-curve"):
        assert f'id="{fig}"' in html, fig
    assert 'id="rank-select"' in html
    text = _text(html)
    assert "Mantel tests" in text and "tot_org_carb (g/kg)" in text
    assert "provider-a" in text and "provider-b" in text


def test_terms_in_plain_words_with_duo_labels_credit_and_duties(compared: Path) -> None:
    html = (compared / "report.html").read_text()
    text = _text(html)
    terms = json.loads((compared / "terms.json").read_text())
    section = _section(html, "terms")
    perm = terms["duo_permission"]
    assert perm == duo.GRU
    assert f"{perm} {duo.terms()[perm].label} (GRU)" in section  # label from the release
    credit = terms["attribution"]["credit_text"]
    assert credit and f"Credit text: {credit}" in section
    assert terms["duties"]  # every duty of the inputs, in words, with its source
    for d in terms["duties"]:
        assert f"duty {d['id']}" in section
    assert "Credit the data providers whenever the data are used (from the licence" in section
    assert "Commercial use is allowed." in section and "CC-BY-4.0" in section
    # nothing is shown as a Python or JSON repr
    body = re.sub(r"<script\b.*?</script>", "", html, flags=re.S)
    assert "{'" not in body and "&#x27;:" not in body and "': " not in text
    assert "[{" not in text and "None" not in text.split()


def test_rarefaction_depth_and_dropped_samples(compared: Path) -> None:
    summary = json.loads((compared / "compare.json").read_text())
    below = pd.read_csv(compared / "below_depth.tsv", sep="\t", comment="#")
    assert summary["normalisation"]["depth"] == DEPTH and len(below) >= 2
    section = _section((compared / "report.html").read_text(), "rarefaction")
    assert f"to {DEPTH} reads (seed 42" in section
    assert f"{len(below)} sample(s) had fewer reads" in section
    assert "Samples below the rarefaction depth (dropped)" in section
    for s in below["sample"]:
        assert f" {s} " in section, s
    kept = set(summary["renamed_samples"]) | {"BAQ2420.2"}
    assert not any(f" {s} " in section for s in kept - set(below["sample"]))


def test_inputs_show_context_or_unknown(compared: Path) -> None:
    summary = json.loads((compared / "compare.json").read_text())
    section = _section((compared / "report.html").read_text(), "inputs")
    for i in summary["inputs"]:
        assert f"{i['institution']}: {i['file']}" in section
        if not i.get("context"):
            assert "processing context unknown (not recorded by this input)" in section
    items = dict(context_items({"marker": "16S", "region": "V4", "trimmed_length": 150,
                                "primers": ["515F", "806R"], "reference": None,
                                "tool": {"name": "DADA2", "version": "1.30.0"}}))
    assert items == {"marker": "16S", "region": "V4", "trimmed_length": "150",
                     "primers": "515F, 806R", "reference": "unknown", "tool.name": "DADA2",
                     "tool.version": "1.30.0"}


def test_nothing_is_fetched_from_the_network(compared: Path) -> None:
    html = (compared / "report.html").read_text()
    # no figure needs plotly's geo basemap (fetched from a CDN at view time)
    types = set()
    for m in re.finditer(r'Plotly\.newPlot\(\s*"(fig-[^"]+)",\s*', html):
        data, _ = json.JSONDecoder().raw_decode(html, m.end())
        types |= {t.get("type") for t in data}
    assert types and types <= {"bar", "box", "scatter"}, types
    assert not re.search(r"<script[^>]*\bsrc=", html)
    assert not re.search(r"<(?:link|img|iframe)\b[^>]*(?:href|src)=[\"']?https?:", html)
    assert not re.search(r"url\(\s*['\"]?https?:", html)
    # the map is inline SVG with the sites drawn on land
    svg = re.search(r'<svg id="site-map".*?</svg>', html, re.S).group(0)
    assert svg.count("<path") > 5 and svg.count("<circle") == 5  # BAQ, YUN, PAP, control of a and b
    assert "BAQ · provider-a · 5 samples" in svg


def test_plain_terms_of_restrictive_agreements() -> None:
    ags = [load_agreement(EXAMPLES / n) for n in ("nagoya-abs.yaml", "local-contexts.yaml")]
    topics = dict(plain_terms(combine_terms(ags).to_dict()))
    joined = " ".join(" ".join(v) for v in topics.values())
    assert "{" not in joined and "[" not in joined
    assert topics["Conditions (DUO modifiers)"]  # every modifier with its DUO label
    for line in topics["Conditions (DUO modifiers)"]:
        term = duo.terms()[line.split()[0]]
        assert line == duo_label(term.id) and term.label in line
    assert any("co authorship (Provider scientists co-author publications)" in x
               for x in topics["Access and benefit-sharing (Nagoya)"])
    assert any("BC Non-Commercial (bcnc), Example Community Land Trust" in x
               for x in topics["Local Contexts"])
    assert "Report the use to the provider on publication (from the Local Contexts labels; " \
           "duty d-report)." in topics["Duties"]
    assert topics["Use"][0] == "Commercial use is not allowed."


def test_site_map_module() -> None:
    assert parse_lat_lon("23.33 S 69.85 W") == (-23.33, -69.85)
    assert parse_lat_lon("95 N 10 E") is None and parse_lat_lon("") is None
    md = pd.DataFrame({"lat_lon": ["24.10 S 69.87 W", "24.12 S 69.89 W", "nope", None],
                       "site": ["BAQ", "BAQ", "X", "Y"], "institution": ["a", "a", "b", "b"]},
                      index=["s1", "s2", "s3", "s4"])
    sites, unplaced = sites_from_metadata(md, "site", "institution")
    assert unplaced == ["s3", "s4"] and len(sites) == 1
    assert sites[0].samples == 2 and sites[0].lat == pytest.approx(-24.11)
    # rings crossing the antimeridian are continuous: no stripe across the world (a ring
    # around a pole is closed along the pole)
    for _, rings in basemap("countries"):
        for r in rings:
            assert all(abs(b[0] - a[0]) < 180 or abs(a[1]) == abs(b[1]) == 90
                       for a, b in zip(r, r[1:], strict=False))
    world = site_map([Site("x", 51.8, 9.6, 3, "a"), Site("y", -33.9, 151.2, 1, "b")])
    svg = world[:world.index("</svg>")]
    assert svg.count("<circle") == 2 and 'class="inset"' not in svg
    local = site_map([Site("x", 51.8, 9.6, 3)])
    assert 'class="inset"' in local and "Germany" in local and "Australia" not in local


def test_relative_abundances_are_not_rarefied_and_the_report_says_so(
        institutions: dict, tmp_path: Path) -> None:  # noqa: F811
    (a, ag_a), (b, ag_b) = institutions["a"], institutions["b"]
    out = tmp_path / "rel"
    res = CliRunner().invoke(main, [
        "compare", str(a), str(b), "--agreement", str(ag_a), "--agreement", str(ag_b),
        "--out", str(out), "--key", str(institutions["comparer"]), "--to-relative",
        "--today", TODAY, "--permutations", "9"])
    assert res.exit_code == 0, res.output
    html = (out / "report.html").read_text()
    section = _section(html, "rarefaction")
    assert section.startswith("Rarefaction Not rarefied: relative abundance")
    assert "No rarefaction curve" in section
    assert "soil" not in re.findall(r'<section id="([^"]+)">', html)  # no --env
