"""soilbiome refdb fetch against a real HTTP server on loopback (no mocks): downloads, resumes
after an interruption, verifies, unpacks, and lists the reference in the sheet."""

from __future__ import annotations

import hashlib
import io
import json
import socket
import subprocess
import tarfile
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from conftest import TESTDATA
from soilbiome.cli import main
from soilbiome.errors import InputError
from soilbiome.refdb import KRAKEN2_FILES, load_refdb
from soilbiome.refdb.catalogue import load_catalogue

SINTAX = TESTDATA / "refdb" / "16s_sintax_ten16s.fa.gz"  # 909,740 bytes: a real SINTAX file


class FileServer(ThreadingHTTPServer):
    """Serves ``files`` by path; honours ``Range: bytes=N-`` unless ``ignore_range``; cuts the
    connection after ``cut[path]`` body bytes (once per path); logs every request."""

    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.files: dict[str, bytes] = {}
        self.cut: dict[str, int] = {}
        self.ignore_range = False
        self.log: list[tuple[str, str | None]] = []

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}{path}"


class _Handler(BaseHTTPRequestHandler):
    server: FileServer

    def log_message(self, *args) -> None:  # noqa: ANN002 - keep test output clean
        pass

    def do_GET(self) -> None:  # noqa: N802 - http.server's name
        srv = self.server
        srv.log.append((self.path, self.headers.get("Range")))
        body = srv.files.get(self.path)
        if body is None:
            self.send_error(404, "Not Found")
            return
        start, status = 0, 200
        wanted = self.headers.get("Range")
        if wanted and not srv.ignore_range:
            start = int(wanted.removeprefix("bytes=").rstrip("-"))
            if start >= len(body):
                self.send_response(416)
                self.send_header("Content-Range", f"bytes */{len(body)}")
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            status = 206
        self.send_response(status)
        self.send_header("Content-Length", str(len(body) - start))
        if status == 206:
            self.send_header("Content-Range", f"bytes {start}-{len(body) - 1}/{len(body)}")
        self.end_headers()
        limit = srv.cut.pop(self.path, None)
        self.wfile.write(body[start:] if limit is None else body[start:start + limit])
        self.wfile.flush()
        if limit is not None:  # drop the connection mid-body, as a broken link would
            self.close_connection = True
            self.connection.shutdown(socket.SHUT_RDWR)


@pytest.fixture
def server():
    srv = FileServer()
    thread = threading.Thread(target=srv.serve_forever, kwargs={"poll_interval": 0.05},
                              daemon=True)
    thread.start()
    yield srv
    srv.shutdown()
    srv.server_close()


def entry(name: str, url: str, file: str, fmt: str = "sintax", **extra) -> dict:
    return {"name": name, "version": "1", "marker": "shotgun" if fmt == "kraken2" else "16S",
            "format": fmt, "taxonomy": "NCBI" if fmt == "kraken2" else "RDP",
            "licence": "CC-BY-4.0", "citation": "test citation", "urls": [url], "file": file,
            "extract": "tar.gz" if fmt == "kraken2" else "none", **extra}


def write_catalogue(path: Path, *entries: dict) -> Path:
    path.write_text(yaml.safe_dump({"catalogue_version": 1, "references": list(entries)}))
    return path


def fetch(tmp_path: Path, name: str, catalogue: Path, *extra: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, ["refdb", "fetch", name, "--catalogue", str(catalogue),
                                       "--cache", str(tmp_path / "cache"),
                                       "--sheet", str(tmp_path / "refdb.csv"), *extra],
                                catch_exceptions=False)
    return result.exit_code, result.stdout, result.stderr


def error_line(err: str) -> str:
    lines = [line for line in err.splitlines() if line.startswith("soilbiome: error:")]
    assert len(lines) == 1 and "Traceback" not in err, err
    return lines[0]


def cache_files(tmp_path: Path) -> list[Path]:
    return [p for p in (tmp_path / "cache").rglob("*") if p.is_file()]


def sintax_catalogue(tmp_path: Path, server: FileServer, sha256: str | None) -> Path:
    server.files["/db/ten16s.fa.gz"] = SINTAX.read_bytes()
    return write_catalogue(tmp_path / "cat.yaml", entry(
        "ten16s", server.url("/db/ten16s.fa.gz"), "ten16s.fa.gz", sha256=sha256))


def test_fetch_downloads_verifies_and_lists_the_reference(tmp_path, server):
    digest = hashlib.sha256(SINTAX.read_bytes()).hexdigest()
    code, out, err = fetch(tmp_path, "ten16s", sintax_catalogue(tmp_path, server, digest))
    assert code == 0, err
    assert "sha256 verified against the catalogue" in out
    entry = load_refdb(tmp_path / "refdb.csv", "ten16s")  # re-hashes the file
    assert entry.sha256 == digest and entry.taxonomy == "RDP" and entry.licence == "CC-BY-4.0"
    assert entry.path.read_bytes() == SINTAX.read_bytes()
    assert entry.path == (tmp_path / "cache" / "ten16s" / "ten16s.fa.gz").resolve()
    record = json.loads((tmp_path / "cache" / "ten16s" / "fetch.json").read_text())
    assert record["sha256"] == digest and record["verified"] is True
    assert not list((tmp_path / "cache").rglob("*.part"))
    assert server.log == [("/db/ten16s.fa.gz", None)]


def test_a_whole_transfer_of_a_truncated_file_is_deleted_not_listed(tmp_path, server):
    """The server sends a file cut short as if it were whole (no checksum in the catalogue,
    as for most publishers): read to its end, it is refused and deleted, and nothing is
    listed; the same command then fetches the whole file."""
    catalogue = sintax_catalogue(tmp_path, server, None)
    server.files["/db/ten16s.fa.gz"] = SINTAX.read_bytes()[:100_000]
    code, _, err = fetch(tmp_path, "ten16s", catalogue)
    assert code == 3
    line = error_line(err)
    assert "corrupt or truncated gzip stream" in line and "the download is deleted" in line
    assert cache_files(tmp_path) == [] and not (tmp_path / "refdb.csv").exists()
    server.files["/db/ten16s.fa.gz"] = SINTAX.read_bytes()
    code, _, err = fetch(tmp_path, "ten16s", catalogue)
    assert code == 0, err
    assert load_refdb(tmp_path / "refdb.csv", "ten16s").path.read_bytes() == SINTAX.read_bytes()


def test_interrupted_download_resumes_with_a_range_request(tmp_path, server):
    catalogue = sintax_catalogue(tmp_path, server, hashlib.sha256(SINTAX.read_bytes())
                                 .hexdigest())
    server.cut["/db/ten16s.fa.gz"] = 100_000
    code, _, err = fetch(tmp_path, "ten16s", catalogue)
    assert code == 3
    line = error_line(err)
    assert f"transfer broke off after 100000 of {SINTAX.stat().st_size} bytes" in line
    assert "run the same command again to resume" in line
    part = tmp_path / "cache" / "ten16s" / "ten16s.fa.gz.part"
    assert part.read_bytes() == SINTAX.read_bytes()[:100_000]
    assert not (tmp_path / "refdb.csv").exists()

    code, _, err = fetch(tmp_path, "ten16s", catalogue)
    assert code == 0, err
    assert "resuming at byte 100000" in err
    assert server.log[-1] == ("/db/ten16s.fa.gz", "bytes=100000-")
    assert load_refdb(tmp_path / "refdb.csv", "ten16s").path.read_bytes() == SINTAX.read_bytes()
    assert not part.exists()


def test_a_server_that_ignores_range_restarts_cleanly(tmp_path, server):
    catalogue = sintax_catalogue(tmp_path, server, None)
    server.cut["/db/ten16s.fa.gz"] = 300_000
    assert fetch(tmp_path, "ten16s", catalogue)[0] == 3
    server.ignore_range = True
    code, out, err = fetch(tmp_path, "ten16s", catalogue)
    assert code == 0, err
    assert "does not resume downloads; starting again" in err
    assert server.log[-1] == ("/db/ten16s.fa.gz", "bytes=300000-")
    entry = load_refdb(tmp_path / "refdb.csv", "ten16s")
    assert entry.path.read_bytes() == SINTAX.read_bytes()  # not 300,000 bytes twice
    # No publisher checksum: recorded at first download and said so.
    assert "checksum recorded at first download" in err and "verify against" in out
    record = json.loads((tmp_path / "cache" / "ten16s" / "fetch.json").read_text())
    assert record["verified"] is False and record["catalogue_sha256"] is None


def test_wrong_checksum_fails_cleanly_leaving_nothing(tmp_path, server):
    wrong = "ab" * 32
    code, _, err = fetch(tmp_path, "ten16s", sintax_catalogue(tmp_path, server, wrong))
    assert code == 3
    actual = hashlib.sha256(SINTAX.read_bytes()).hexdigest()
    assert error_line(err) == (
        f"soilbiome: error: {server.url('/db/ten16s.fa.gz')}: checksum mismatch: catalogue "
        f"expects {wrong}, download has {actual}; partial file deleted")
    assert cache_files(tmp_path) == []
    assert not (tmp_path / "refdb.csv").exists()


def test_unreachable_url_fails_in_one_line(tmp_path):
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    url = f"http://127.0.0.1:{port}/db/x.fa.gz"
    catalogue = write_catalogue(tmp_path / "cat.yaml", entry("x", url, "x.fa.gz"))
    code, _, err = fetch(tmp_path, "x", catalogue, "--timeout", "5")
    assert code == 3
    assert error_line(err) == f"soilbiome: error: {url}: cannot download: Connection refused"
    assert cache_files(tmp_path) == [] and not (tmp_path / "refdb.csv").exists()


def test_http_error_names_the_status_and_the_next_mirror_is_tried(tmp_path, server):
    server.files["/db/ten16s.fa.gz"] = SINTAX.read_bytes()
    missing = server.url("/gone/ten16s.fa.gz")
    catalogue = write_catalogue(tmp_path / "cat.yaml", entry("only404", missing, "a.fa.gz"),
                                {**entry("mirrored", missing, "b.fa.gz"),
                                 "urls": [missing, server.url("/db/ten16s.fa.gz")]})
    code, _, err = fetch(tmp_path, "only404", catalogue)
    assert code == 3
    assert error_line(err) == (f"soilbiome: error: {missing}: the server answered HTTP 404 "
                               "Not Found")
    code, _, err = fetch(tmp_path, "mirrored", catalogue)
    assert code == 0, err
    assert load_refdb(tmp_path / "refdb.csv", "mirrored").path.name == "b.fa.gz"


def _tar_gz(members: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


def test_kraken2_archive_is_unpacked_and_listed_with_its_folder_digest(tmp_path, server):
    files = {name: bytes([i + 1]) * (1000 + i) for i, name in enumerate(KRAKEN2_FILES)}
    server.files["/k2/k2_demo.tar.gz"] = _tar_gz(
        {**{f"k2_demo/{n}": d for n, d in files.items()}, "k2_demo/taxonomy/names.dmp": b"1\n"})
    catalogue = write_catalogue(tmp_path / "cat.yaml", entry(
        "k2demo", server.url("/k2/k2_demo.tar.gz"), "k2_demo.tar.gz", fmt="kraken2"))
    code, _, err = fetch(tmp_path, "k2demo", catalogue)
    assert code == 0, err
    entry_ = load_refdb(tmp_path / "refdb.csv", "k2demo")  # re-computes kraken2_digest
    folder = tmp_path / "cache" / "k2demo" / "k2_demo" / "k2_demo"
    assert entry_.path == folder.resolve()
    # the manifest digest: taxonomy/names.dmp is covered too (docs/references.md)
    listing = subprocess.run(["sha256sum", *KRAKEN2_FILES, "taxonomy/names.dmp"], cwd=folder,
                             check=True, capture_output=True).stdout
    assert entry_.sha256 == hashlib.sha256(listing).hexdigest()
    assert not (tmp_path / "cache" / "k2demo" / "k2_demo.tar.gz").exists()  # archive removed


def test_member_glob_picks_the_release_fasta_out_of_an_archive(tmp_path, server):
    release = (TESTDATA / "refdb" / "its_unite_mini_sintax.fasta.gz").read_bytes()
    server.files["/unite.tgz"] = _tar_gz({
        "sh_general_release_04.04.2024/sh_general_release_dynamic_04.04.2024.fasta": release,
        "sh_general_release_04.04.2024/developer/sh_general_release_dynamic_dev.fasta": b">x\n",
    })
    catalogue = write_catalogue(tmp_path / "cat.yaml", {
        **entry("unite", server.url("/unite.tgz"), "unite.tgz", fmt="sintax"),
        "marker": "ITS", "taxonomy": "UNITE", "extract": "tar.gz", "member": "*[0-9].fasta"})
    code, _, err = fetch(tmp_path, "unite", catalogue)
    assert code == 0, err
    entry_ = load_refdb(tmp_path / "refdb.csv", "unite")
    assert entry_.path.name == "sh_general_release_dynamic_04.04.2024.fasta"
    assert entry_.sha256 == hashlib.sha256(release).hexdigest()


def test_archive_member_escaping_the_cache_is_refused(tmp_path, server):
    server.files["/evil.tar.gz"] = _tar_gz({"../escaped.k2d": b"x"})
    catalogue = write_catalogue(tmp_path / "cat.yaml", entry(
        "evil", server.url("/evil.tar.gz"), "evil.tar.gz", fmt="kraken2"))
    code, _, err = fetch(tmp_path, "evil", catalogue)
    assert code == 3
    assert "not a readable tar.gz archive" in error_line(err)
    assert not (tmp_path / "cache" / "escaped.k2d").exists()
    assert not (tmp_path / "refdb.csv").exists()


def test_base_url_sends_every_request_to_the_mirror(tmp_path, server):
    server.files["/mirror/db/ten16s.fa.gz"] = SINTAX.read_bytes()
    catalogue = write_catalogue(tmp_path / "cat.yaml", entry(
        "ten16s", "https://publisher.invalid/db/ten16s.fa.gz", "ten16s.fa.gz"))
    code, _, err = fetch(tmp_path, "ten16s", catalogue, "--base-url", server.url("/mirror/"))
    assert code == 0, err
    assert server.log == [("/mirror/db/ten16s.fa.gz", None)]


def test_listed_name_is_refused_before_downloading_and_replace_reuses_the_cache(tmp_path,
                                                                                server):
    catalogue = sintax_catalogue(tmp_path, server, None)
    assert fetch(tmp_path, "ten16s", catalogue)[0] == 0
    requests = len(server.log)
    code, _, err = fetch(tmp_path, "ten16s", catalogue)
    assert code == 2 and "already listed (use --replace" in error_line(err)
    code, _, err = fetch(tmp_path, "ten16s", catalogue, "--replace")
    assert code == 0, err
    assert "already in the cache" in err
    assert len(server.log) == requests  # nothing downloaded again
    # A cached file that changed since is downloaded again, not listed under its new digest.
    cached = tmp_path / "cache" / "ten16s" / "ten16s.fa.gz"
    cached.write_bytes(b"tampered")
    assert fetch(tmp_path, "ten16s", catalogue, "--replace")[0] == 0
    assert len(server.log) == requests + 1
    assert cached.read_bytes() == SINTAX.read_bytes()


def test_unknown_name_lists_the_catalogue(tmp_path, server):
    code, _, err = fetch(tmp_path, "silva", sintax_catalogue(tmp_path, server, None))
    assert code == 2
    assert "no reference named 'silva' in the catalogue (known: ten16s)" in error_line(err)


def test_shipped_catalogue_is_complete_and_checked():
    catalogue = load_catalogue()
    wanted = {("16S", "SILVA"), ("16S", "GTDB"), ("ITS", "UNITE"), ("18S", "PR2"),
              ("shotgun", "NCBI")}
    assert wanted <= {(e.marker, e.taxonomy) for e in catalogue.values()}
    for e in catalogue.values():
        assert e.source and e.citation and all(u.startswith("https://") for u in e.urls)
        assert e.format != "kraken2" or e.extract == "tar.gz"
    result = CliRunner().invoke(main, ["refdb", "catalogue"])
    assert result.exit_code == 0 and len(result.stdout.splitlines()) == len(catalogue)


@pytest.mark.parametrize(("change", "message"), [
    ({"format": "kraken2", "marker": "shotgun"}, "a kraken2 database is a folder"),
    ({"licence": "CC-BY-9.9"}, "field 'licence'"),
    ({"sha256": "abc"}, "field 'sha256': not 64 hexadecimal digits"),
    ({"urls": ["ftp://x/y"]}, "is not an http(s) URL"),
    ({"file": "../x.gz"}, "is not a plain file name"),
    ({"mirror": "x"}, "unknown field(s): mirror"),
])
def test_bad_catalogue_entry_is_refused_by_name(tmp_path, change, message):
    path = write_catalogue(tmp_path / "cat.yaml",
                           {**entry("bad", "https://example.org/x.gz", "x.gz"), **change})
    with pytest.raises(InputError, match="references\\[0\\] \\('bad'\\)") as info:
        load_catalogue(path)
    assert message in str(info.value)
