"""Helpers for the node tests: real tables, keys, agreements, a node process, PostgreSQL,
and headless Chromium driven over the DevTools protocol."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import biom
import numpy as np
import yaml

from soilbiome.io.biom_writer import write_biom
from soilbiome.model.context import ProcessingContext
from soilbiome.sharing import generate_key, rewrite_trusted_keys, stamp_biom

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "sharing_agreements" / "examples"
TODAY = "2026-02-01"  # after the pilot's embargo (2026-01-01), in its moratorium (to 06-30)
STAMP_DAY = dt.date(2026, 1, 15)
STAMP_NOW = dt.datetime(2026, 1, 15, 12, 0, tzinfo=dt.UTC)
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
GENERA = ["Bacillus", "Streptomyces", "Nitrospira", "Pseudomonas", "Arthrobacter"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def make_table(path: Path, samples: dict[str, dict[str, str]], genera: list[str],
               seed: int) -> Path:
    """A small real BIOM 2.1 table with MIxS sample fields, 8-rank taxonomy and a context."""
    rng = np.random.default_rng(seed)
    seqs = ["".join(rng.choice(list("ACGT"), 100)) for _ in range(len(genera) + 1)]
    feats = [hashlib.md5(q.encode()).hexdigest() for q in seqs]  # ASV id = md5 of sequence
    counts = rng.integers(1, 40, size=(len(feats), len(samples))).astype(float)
    counts[-1, :] = 0  # one feature absent everywhere: its genus is not "present"
    tax = [["d__Bacteria", "k__", f"p__Phylum{i % 2}", "c__C", "o__O", "f__F", f"g__{g}",
            "s__"] for i, g in enumerate(genera + ["Absentia"])]
    table = biom.Table(counts, feats, list(samples),
                       observation_metadata=[{"taxonomy": t, "sequence": q}
                                             for t, q in zip(tax, seqs, strict=True)],
                       sample_metadata=[dict(v) for v in samples.values()],
                       type="OTU table")
    ctx = ProcessingContext(marker="16S", region="V4", method="DADA2",
                            value_kind="counts", taxonomy_system="SILVA")
    return write_biom(table, path, context=ctx,
                      creation_date=dt.datetime(2026, 1, 10, 9, 0))


def erc(lat_lon: str, geo: str, date: str, site: str) -> dict[str, str]:
    return {"collection_date": date, "geo_loc_name": geo, "lat_lon": lat_lon,
            "env_broad_scale": "desert biome [ENVO:01000179]",
            "env_local_scale": "desert [ENVO:00000097]", "env_medium": "soil [ENVO:00001998]",
            "depth": "0-10 cm", "elev": "1000", "site": site}


A_SAMPLES = {
    "BAQ2420.2": erc("24.10 S 69.87 W", "Chile: Antofagasta", "2010-10-01", "BAQ"),
    "BAQ3473.2": erc("24.10 S 69.87 W", "Chile: Antofagasta", "2010-10-02", "BAQ"),
    "YUN1242.1": erc("24.09 S 69.97 W", "Chile: Antofagasta", "2010-10-03", "YUN"),
    "PAP130.2": erc("25.20 S 70.10 W", "Chile: Antofagasta", "2010-10-04", "PAP"),
}
B_SAMPLES = {
    "GSP-KE-0001": erc("0.42 S 36.95 E", "Kenya: Nyeri", "2025-03-20", "NYE"),
    "GSP-KE-0002": erc("0.42 S 36.95 E", "Kenya: Nyeri", "2025-03-21", "NYE"),
    "GSP-KE-0003": erc("1.29 S 36.82 E", "Kenya: Nairobi", "2025-03-22", "NBO"),
}


def institution(tmp: Path, name: str, example: str, party: str, samples: dict,
                genera: list[str], seed: int) -> dict[str, Path]:
    """A key, the example agreement trusting it, and a table stamped under it."""
    key = generate_key(tmp / f"{name}.key")
    ag = rewrite_trusted_keys(EXAMPLES / example, tmp / f"{name}.agreement.yaml",
                              [(key, party)], valid_from="2025-01-01",
                              valid_until="2027-12-31")
    table = make_table(tmp / f"{name}.biom", samples, genera, seed)
    stamp_biom(table, ag, key.private_key_path, run_id=f"run-{name}", today=STAMP_DAY,
               now=STAMP_NOW)
    return {"key": Path(key.private_key_path), "agreement": ag, "table": table,
            "b64": key.public_key_b64}


def members_file(path: Path, members: list[dict[str, str]]) -> Path:
    path.write_text(yaml.safe_dump({"members": members}, sort_keys=False))
    return path


def request_yaml(path: Path, agreement_id: str, dataset: str, **changes: Any) -> Path:
    """A data-use request of the third member (Alpine University, recipient-1)."""
    req = {
        "agreement_id": agreement_id,
        "requester": {"name": "A. Researcher", "orcid": "https://orcid.org/0000-0000-0000-0041",
                      "institution_ror": "https://ror.org/05xyz6a78", "org_type": "academic",
                      "country": "CH", "party": "recipient-1"},
        "project_id": "PS-2025-07",
        "purpose": {"research": True, "commercial": False, "methods_development": False,
                    "text": "Compare topsoil microbial diversity."},
        "processing_countries": ["CH"],
        "planned_publication_date": "2026-09-01",
        "collaborators_orcid": ["https://orcid.org/0000-0000-0000-0012"],
        "ethics_approval_ref": None,
        "accepted_duties": ["d-attr", "d-pub", "d-rtn", "d-col", "d-notify", "d-delete"],
        "requested_at": "2026-01-20",
        "datasets": [dataset],
    }
    for k, v in changes.items():
        if v is None:
            req.pop(k, None)
        else:
            req[k] = v
    path.write_text(yaml.safe_dump({"request": req}, sort_keys=False))
    return path


# -- the node process --------------------------------------------------------------------------
class NodeProcess:
    """``soilbiome node serve`` in a child process on a free port."""

    def __init__(self, data: Path, members: Path, database: str | None = None,
                 extra: list[str] = ()) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.data = data
        self.database = database
        cmd = [sys.executable, "-m", "soilbiome", "node", "serve", "--data", str(data),
               "--port", str(self.port), "--members", str(members), "--today", TODAY,
               "--name", "Test node", *extra]
        if database:
            cmd += ["--database", database]
        self.log = data.parent / f"node-{self.port}.log"
        self.proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL,
                                     stderr=self.log.open("w"))
        deadline = time.time() + 30
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(self.log.read_text()[-2000:])
            try:
                urllib.request.urlopen(self.url + "/api/audit/head", timeout=1).read()
                return
            except (urllib.error.URLError, OSError):
                time.sleep(0.1)
        raise RuntimeError("node did not start: " + self.log.read_text()[-2000:])

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()

    def db_args(self) -> list[str]:
        return ["--data", str(self.data)] + (["--database", self.database]
                                             if self.database else [])


def http(method: str, url: str, body: bytes | None = None,
         headers: dict[str, str] | None = None) -> tuple[int, dict[str, str], bytes]:
    """One plain HTTP call; returns (status, headers, body) for any status."""
    req = urllib.request.Request(url, data=body, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=30) as resp:
            return resp.status, dict(resp.headers), resp.read()
    except urllib.error.HTTPError as exc:
        return exc.code, dict(exc.headers), exc.read()


# -- PostgreSQL --------------------------------------------------------------------------------
def pg_bin() -> Path | None:
    for d in sorted(Path("/usr/lib/postgresql").glob("*/bin"), reverse=True):
        if (d / "initdb").is_file() and (d / "pg_ctl").is_file():
            return d
    return None


class PgCluster:
    """A throwaway PostgreSQL cluster (Debian's binaries) in a temporary folder."""

    def __init__(self, tmp: Path) -> None:
        bindir = pg_bin()
        assert bindir is not None
        # a folder of its own under /tmp: pytest's folders are private to root
        self.dir = Path(tempfile.mkdtemp(prefix="soilbiome-pg-"))
        self.port = free_port()
        prefix: list[str] = []
        if os.geteuid() == 0:  # initdb refuses root: run the cluster as nobody
            shutil.chown(self.dir, "nobody", "nogroup")
            prefix = ["runuser", "-u", "nobody", "--"]
        self.prefix = prefix
        self.bindir = bindir
        env = {**os.environ, "LC_ALL": "C"}
        subprocess.run([*prefix, str(bindir / "initdb"), "-D", str(self.dir / "db"), "-A",
                        "trust", "-U", "node", "--no-sync", "-E", "UTF8"], check=True,
                       capture_output=True, env=env)
        subprocess.run([*prefix, str(bindir / "pg_ctl"), "-D", str(self.dir / "db"), "-w",
                        "-l", str(self.dir / "log"), "-o",
                        f"-p {self.port} -k {self.dir} -c listen_addresses=127.0.0.1 "
                        "-c fsync=off", "start"], check=True, capture_output=True, env=env)
        self.url = f"postgresql://node@127.0.0.1:{self.port}/postgres"

    def stop(self) -> None:
        subprocess.run([*self.prefix, str(self.bindir / "pg_ctl"), "-D", str(self.dir / "db"),
                        "-m", "immediate", "stop"], capture_output=True)
        shutil.rmtree(self.dir, ignore_errors=True)


# -- headless Chromium over the DevTools protocol ------------------------------------------------
class Browser:
    """One headless Chromium page driven over CDP (navigate, evaluate, screenshot)."""

    def __init__(self, tmp: Path, width: int = 1100, height: int = 900) -> None:
        import websocket

        profile = tmp / "chromium-profile"
        profile.mkdir(exist_ok=True)
        self.proc = subprocess.Popen(
            [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
             "--no-first-run", "--remote-debugging-port=0", f"--user-data-dir={profile}",
             f"--window-size={width},{height}", "about:blank"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        port_file = profile / "DevToolsActivePort"
        deadline = time.time() + 30
        while not port_file.is_file() or len(port_file.read_text().split()) < 2:
            if time.time() > deadline:
                raise RuntimeError("chromium did not start")
            time.sleep(0.1)
        port = port_file.read_text().split()[0]
        page = None
        while page is None:
            targets = json.loads(urllib.request.urlopen(f"http://127.0.0.1:{port}/json").read())
            page = next((t for t in targets if t["type"] == "page"), None)
            if page is None:
                if time.time() > deadline:
                    raise RuntimeError("chromium opened no page")
                time.sleep(0.1)
        self.ws = websocket.create_connection(page["webSocketDebuggerUrl"], timeout=30)
        self._id = 0
        self.call("Page.enable")
        self.call("Runtime.enable")

    def call(self, method: str, **params: Any) -> dict[str, Any]:
        self._id += 1
        self.ws.send(json.dumps({"id": self._id, "method": method, "params": params}))
        while True:
            msg = json.loads(self.ws.recv())
            if msg.get("id") == self._id:
                if "error" in msg:
                    raise RuntimeError(f"{method}: {msg['error']}")
                return msg.get("result", {})

    def goto(self, url: str) -> None:
        self.submit(f"location.href = {json.dumps(url)}")

    def eval(self, expression: str) -> Any:
        res = self.call("Runtime.evaluate", expression=expression, returnByValue=True)
        return res.get("result", {}).get("value")

    def submit(self, expression: str) -> None:
        """Run ``expression`` (which loads a page: a form submission, a link) and wait until
        the next page has loaded (a new document, fully loaded)."""
        before = self.eval("performance.timeOrigin")
        self.eval(expression)
        deadline = time.time() + 20
        while time.time() < deadline:
            time.sleep(0.1)
            try:
                if self.eval("performance.timeOrigin") != before and \
                        self.eval("document.readyState") == "complete":
                    return
            except RuntimeError:
                continue
        raise RuntimeError("no new page was loaded")

    def screenshot(self, path: Path) -> Path:
        data = self.call("Page.captureScreenshot", format="png", captureBeyondViewport=True)
        path.write_bytes(base64.b64decode(data["data"]))
        keep = os.environ.get("SOILBIOME_SCREENSHOTS")
        if keep:
            Path(keep).mkdir(parents=True, exist_ok=True)
            shutil.copy(path, Path(keep) / path.name)
        return path

    def close(self) -> None:
        try:
            self.ws.close()
        finally:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()


