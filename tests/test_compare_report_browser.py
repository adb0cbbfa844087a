"""The comparison report opened offline in headless Chromium: the map is drawn, not blank.

Chromium runs with networking off (a dead proxy, every host name unresolvable). A probe
appended to a copy of the page reports where the map is and what the page fetched; a
screenshot of the page itself is then read pixel by pixel inside the map's box.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from test_compare_report import compared, institutions  # noqa: F401  (module fixtures)

from soilbiome.report.sitemap import LAND, SEA, Site, category_colours

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="chromium not installed")
OFFLINE = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
           "--proxy-server=127.0.0.1:9", "--host-resolver-rules=MAP * ~NOTFOUND",
           "--hide-scrollbars", "--force-device-scale-factor=1",
           "--virtual-time-budget=10000"]
WIDTH = 1200

PROBE = """<script>
window.addEventListener("load", function () { setTimeout(function () {
  var map = document.getElementById("site-map").getBoundingClientRect();
  var out = {
    map: {x: map.left + window.scrollX, y: map.top + window.scrollY,
          w: map.width, h: map.height},
    resources: performance.getEntriesByType("resource").map(function (e) { return e.name; }),
    plots: document.querySelectorAll(".js-plotly-plot .main-svg").length,
    figures: document.querySelectorAll("[id^=fig-]").length,
    height: document.documentElement.scrollHeight
  };
  var pre = document.createElement("pre");
  pre.id = "probe";
  pre.textContent = JSON.stringify(out);
  document.body.appendChild(pre);
}, 300); });
</script>"""


def _hex(colour: str) -> tuple[int, int, int]:
    return tuple(int(colour[i:i + 2], 16) for i in (1, 3, 5))  # type: ignore[return-value]


@pytest.fixture(scope="module")
def seen(compared: Path, tmp_path_factory: pytest.TempPathFactory) -> dict:  # noqa: F811
    d = tmp_path_factory.mktemp("browser")
    page = compared / "report.html"
    probed = d / "probed.html"
    probed.write_text(page.read_text().replace("</body>", PROBE + "</body>"))
    proc = subprocess.run([CHROMIUM, *OFFLINE, f"--window-size={WIDTH},900", "--dump-dom",
                           probed.as_uri()], capture_output=True, text=True, timeout=240)
    match = re.search(r'<pre id="probe">(.*?)</pre>', proc.stdout, re.S)
    assert match, proc.stderr[-2000:]
    probe = json.loads(match.group(1).replace("&quot;", '"').replace("&amp;", "&"))
    box = probe["map"]
    shot = d / "report.png"
    height = int(box["y"] + box["h"] + 40)
    proc = subprocess.run([CHROMIUM, *OFFLINE, f"--window-size={WIDTH},{height}",
                           f"--screenshot={shot}", page.as_uri()],
                          capture_output=True, text=True, timeout=240)
    assert shot.is_file(), proc.stderr[-2000:]
    return {"probe": probe, "shot": shot}


def test_page_fetches_nothing_and_draws_its_plots(seen: dict) -> None:
    probe = seen["probe"]
    assert probe["resources"] == []
    assert probe["figures"] >= 8 and probe["plots"] >= probe["figures"]


def test_map_is_drawn_offline(seen: dict) -> None:
    Image = pytest.importorskip("PIL.Image")
    box = seen["probe"]["map"]
    assert box["w"] > 300 and box["h"] > 150
    img = Image.open(seen["shot"]).convert("RGB")
    x0, y0 = int(box["x"]) + 2, int(box["y"]) + 2
    size = (int(box["w"]) - 4, int(box["h"]) - 4)
    def flat(part) -> list:  # Pillow 14 drops getdata(); newer Pillow has get_flattened_data()
        return list(getattr(part, "get_flattened_data", part.getdata)())

    pixels = flat(img.crop((x0, y0, x0 + size[0], y0 + size[1])))
    # control: the same-sized box just above the map (text of the page) has no map colours
    above = flat(img.crop((x0, y0 - size[1] - 80, x0 + size[0], y0 - 80)))

    def share(colour: str, tol: int = 6, region: list | None = None) -> float:
        ref = _hex(colour)
        region = pixels if region is None else region
        return sum(all(abs(p[i] - ref[i]) <= tol for i in range(3))
                   for p in region) / len(region)

    assert share(LAND, region=above) < 0.01 and share(SEA, region=above) < 0.01

    # the Atacama coast: land and sea both fill a good part of the box (a map whose basemap
    # failed to load would show one colour or none)
    assert share(LAND) > 0.25, share(LAND)
    assert share(SEA) > 0.15, share(SEA)
    # each institution's points are visible in its colour
    colours = category_colours([Site("", 0, 0, 1, c) for c in ("provider-a", "provider-b")])
    for inst, colour in colours.items():
        assert share(colour, tol=40) * len(pixels) > 30, inst
