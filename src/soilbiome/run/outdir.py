"""One run per results folder: the ``--outdir`` lock and the finished-run check.

A results folder holds the outputs of exactly one run (one Nextflow session). Two markers in
``<outdir>/pipeline_info/`` say whose it is:

* ``run.lock`` -- a run is writing here: created exclusively (``O_EXCL``) once the start-up gate
  has passed, holding the Nextflow process id, its start time, the host, the session and run
  name; removed when the run ends. A lock whose process is gone (same host, no such process,
  or another process now has that id) is *stale*: the run was killed, and the lock is taken
  over. A lock held on another host cannot be checked from here and is never taken over.
* ``run_record.json`` -- written by ``pipeline/main.nf`` (``running`` -> ``succeeded`` /
  ``failed``), naming the session that made the results.

:func:`claim_outdir` (``soilbiome outdir claim``, called by the start-up gate) refuses, in one
line, a folder locked by a live run or holding another session's results; only ``-resume`` of
the same session may continue in it. :func:`release_outdir` (``soilbiome outdir release``)
removes the lock at the end of the run that holds it.
"""

from __future__ import annotations

import json
import os
import socket
from dataclasses import asdict, dataclass
from pathlib import Path

from soilbiome.errors import InputError

LOCK = Path("pipeline_info") / "run.lock"
RECORD = Path("pipeline_info") / "run_record.json"


class OutdirInUseError(InputError):
    """``--outdir`` is being written by another run, or holds another run's results."""


@dataclass(frozen=True)
class Holder:
    """Who holds a results folder's lock."""

    pid: int
    host: str
    session_id: str
    run_name: str = ""
    started: str = ""
    pid_start: str | None = None  # the process's start time (Linux: /proc/<pid>/stat field 22)

    def describe(self) -> str:
        name = f"run '{self.run_name}', " if self.run_name else ""
        return f"{name}session {self.session_id}, pid {self.pid} on host {self.host}" + (
            f", started {self.started}" if self.started else "")


def process_start(pid: int) -> str | None:
    """Start time of process ``pid`` (clock ticks since boot), or ``None`` when unknown."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = stat.rsplit(")", 1)[-1].split()
    return fields[19] if len(fields) > 19 else None  # field 22 of the whole line


def _alive(holder: Holder) -> bool:
    """Whether the lock's process still runs (on this host; see the module notes)."""
    try:
        os.kill(holder.pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass  # exists, owned by someone else
    if holder.pid_start is not None:
        now = process_start(holder.pid)
        if now is not None and now != holder.pid_start:
            return False  # the id was reused by another process
    return True


def read_holder(lock: Path) -> Holder | None:
    """The lock's holder, or ``None`` when the file cannot be read as one."""
    try:
        data = json.loads(lock.read_text(encoding="utf-8"))
        return Holder(pid=int(data["pid"]), host=str(data["host"]),
                      session_id=str(data["session_id"]), run_name=str(data.get("run_name", "")),
                      started=str(data.get("started", "")),
                      pid_start=data.get("pid_start"))
    except (OSError, ValueError, KeyError, TypeError):
        return None


def _recorded_session(outdir: Path) -> tuple[str, str, str] | None:
    """``(session_id, run_name, status)`` of the run record, or ``None`` without one."""
    path = outdir / RECORD
    if not path.is_file():
        return None
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        return (str(data.get("session_id") or "?"), str(data.get("run_name") or "?"),
                str(data.get("status") or "?"))
    except (OSError, ValueError, AttributeError):
        return ("?", "?", "unreadable")


def _way_forward(outdir: Path, session: str | None) -> str:
    resume = (f", or continue that run with -resume {session}"
              if session and session != "?" else "")
    return f"choose another --outdir (or remove {outdir} to start afresh){resume}"


def check_lock(outdir: Path, host: str) -> str | None:
    """Refusal for a live (or uncheckable) lock; ``None`` when there is none or it is stale."""
    lock = outdir / LOCK
    if not lock.exists():
        return None
    holder = read_holder(lock)
    if holder is None:
        return (f"--outdir {outdir}: {lock} exists but is not a run lock soilbiome can read; "
                f"if no run is writing there, remove that file")
    if holder.host != host:
        return (f"--outdir {outdir} is in use by a run on another host ({holder.describe()}); "
                f"wait for it to finish and use -resume {holder.session_id}, or choose another "
                f"--outdir (if that run is no longer running, remove {lock})")
    if _alive(holder):
        return (f"--outdir {outdir} is in use by a run in progress ({holder.describe()}); "
                f"wait for it to finish, or choose another --outdir")
    return None  # stale: that run was killed


def claim_outdir(outdir: str | Path, session_id: str, *, pid: int, run_name: str = "",
                 started: str = "", host: str | None = None) -> Path:
    """Take ``outdir`` for run ``session_id`` (the Nextflow process ``pid``); its lock file.

    Raises
    ------
    OutdirInUseError
        One line: the folder is locked by a live run, or holds the results of another session
        (finished, failed or killed), with the way forward (another ``--outdir``, or
        ``-resume`` of that session).
    """
    outdir = Path(outdir).absolute()
    host = host or socket.gethostname()
    lock = outdir / LOCK
    stale = lock.read_bytes() if lock.is_file() else None
    refusal = check_lock(outdir, host)
    if refusal:
        raise OutdirInUseError(refusal)
    recorded = _recorded_session(outdir)
    if recorded is not None and recorded[0] != session_id:
        session, name, status = recorded
        what = {"running": "an interrupted run", "succeeded": "a finished run",
                "failed": "a failed run"}.get(status, "a run")
        raise OutdirInUseError(
            f"--outdir {outdir} holds the results of {what} ('{name}', session {session}); "
            f"a second run there would mix its files with them: {_way_forward(outdir, session)}")
    holder = Holder(pid=pid, host=host, session_id=session_id, run_name=run_name,
                    started=started, pid_start=process_start(pid))
    if stale is not None and lock.is_file() and lock.read_bytes() == stale:
        lock.unlink(missing_ok=True)  # the stale lock judged above (a live one was refused)
    lock.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(lock, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
    except FileExistsError:
        other = read_holder(lock)
        raise OutdirInUseError(
            f"--outdir {outdir} was just taken by another run"
            + (f" ({other.describe()})" if other else "")
            + "; choose another --outdir") from None
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        json.dump(asdict(holder), handle, indent=2)
        handle.write("\n")
    return lock


def release_outdir(outdir: str | Path, session_id: str) -> bool:
    """Remove ``outdir``'s lock if session ``session_id`` holds it; whether it did."""
    lock = Path(outdir) / LOCK
    holder = read_holder(lock)
    if holder is None or holder.session_id != session_id:
        return False
    lock.unlink(missing_ok=True)
    return True
