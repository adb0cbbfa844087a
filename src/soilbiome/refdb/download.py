"""Resumable HTTP downloads with the standard library (``urllib``), for ``refdb fetch``.

:func:`download` brings a URL into a ``.part`` file, asking only for the missing bytes
(``Range: bytes=N-``) when the file already holds some; a server that answers the whole file
instead is written from the start. Every failure is one :class:`~soilbiome.errors.DownloadError`
line naming the URL; bytes that arrived are kept for the next attempt.
"""

from __future__ import annotations

import http.client
import re
from collections.abc import Callable
from pathlib import Path
from urllib.error import HTTPError, URLError
from urllib.parse import urlsplit, urlunsplit
from urllib.request import Request, urlopen

from soilbiome import __version__
from soilbiome.errors import DownloadError, InputError

CHUNK = 1 << 20
_CONTENT_RANGE = re.compile(r"^bytes (\d+)-(\d+)/(\d+|\*)$")
_UNSATISFIED_RANGE = re.compile(r"^bytes \*/(\d+)$")

Report = Callable[[str], None]


def mirror_url(url: str, base_url: str | None) -> str:
    """``url`` with its scheme and host replaced by ``base_url``'s (whose path, if any,
    prefixes the URL's path); ``url`` itself when there is no ``base_url``."""
    if not base_url:
        return url
    base = urlsplit(base_url)
    if base.scheme not in ("http", "https") or not base.netloc:
        raise InputError(f"--base-url: '{base_url}' is not an http(s) URL")
    parts = urlsplit(url)
    return urlunsplit((base.scheme, base.netloc, base.path.rstrip("/") + parts.path,
                       parts.query, ""))


def download(url: str, part: Path, *, timeout: float = 60.0, report: Report | None = None,
             _restarted: bool = False) -> None:
    """Bring ``url`` into ``part``, resuming from the bytes ``part`` already holds.

    Raises
    ------
    DownloadError
        One line naming the URL: unreachable, HTTP error, or broken off after N bytes (those
        bytes are kept; calling again resumes).
    """
    say = report or (lambda _message: None)
    have = part.stat().st_size if part.exists() else 0
    request = Request(url, headers={"User-Agent": f"soilbiome/{__version__}"})
    if have:
        request.add_header("Range", f"bytes={have}-")
    try:
        response = urlopen(request, timeout=timeout)  # noqa: S310 - http(s) checked upstream
    except HTTPError as exc:
        if exc.code == 416 and have:
            match = _UNSATISFIED_RANGE.match(exc.headers.get("Content-Range", "") or "")
            if match and int(match.group(1)) == have:
                return  # the part file already holds the whole file
            if not _restarted:
                say(f"{url}: the server refused to resume; starting again")
                part.unlink()
                return download(url, part, timeout=timeout, report=report, _restarted=True)
        raise DownloadError(f"{url}: the server answered HTTP {exc.code} {exc.reason}") from None
    except (URLError, OSError, http.client.HTTPException, ValueError) as exc:
        raise DownloadError(f"{url}: cannot download: {reason(exc)}") from None
    with response:
        mode, start = "wb", 0
        if have and response.status == 206:
            match = _CONTENT_RANGE.match(response.headers.get("Content-Range", "") or "")
            if not match or int(match.group(1)) != have:
                if _restarted:
                    raise DownloadError(f"{url}: the server's partial answer does not start at "
                                        f"byte {have}")
                say(f"{url}: the server resumed at the wrong place; starting again")
                response.close()
                part.unlink()
                return download(url, part, timeout=timeout, report=report, _restarted=True)
            mode, start = "ab", have
            say(f"{url}: resuming at byte {have}")
        elif response.status == 200:
            if have:
                say(f"{url}: the server does not resume downloads; starting again")
            else:
                say(f"{url}: downloading")
        else:
            raise DownloadError(f"{url}: unexpected HTTP status {response.status}")
        length = response.headers.get("Content-Length")
        expected = int(length) if length and length.isdigit() else None
        got = _copy(response, part, mode, url, start)
    if expected is not None and got < expected:
        raise DownloadError(f"{url}: transfer broke off after {start + got} of "
                            f"{start + expected} bytes (kept in {part}); run the same command "
                            "again to resume")


def _copy(response, part: Path, mode: str, url: str, start: int) -> int:  # noqa: ANN001
    got = 0
    with open(part, mode) as out:
        try:
            while chunk := response.read(CHUNK):
                out.write(chunk)
                got += len(chunk)
        except (OSError, http.client.HTTPException) as exc:
            out.flush()
            raise DownloadError(f"{url}: transfer broke off after {start + got} bytes "
                                f"({reason(exc)}; kept in {part}); run the same command again "
                                "to resume") from None
    return got


def reason(exc: BaseException) -> str:
    """One line saying why ``exc`` happened (the OS reason for network errors)."""
    if isinstance(exc, URLError) and not isinstance(exc, HTTPError):
        if not isinstance(exc.reason, BaseException):
            return " ".join(str(exc.reason).split())
        exc = exc.reason
    text = getattr(exc, "strerror", None) or str(exc) or type(exc).__name__
    return " ".join(str(text).split())
