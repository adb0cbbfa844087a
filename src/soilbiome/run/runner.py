"""Launch the soilbiome Nextflow pipeline through nextflowpy and report progress.

The launch directory keeps Nextflow's cache (``.nextflow/``) and ``work/`` so that ``-resume``
works between launches; each launch's log and captured streams go to a fresh folder under
``.soilbiome/runs/`` so that a stale log from an earlier launch is never read as this one's.
"""

from __future__ import annotations

import datetime as dt
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from soilbiome.errors import ToolError
from soilbiome.run import PROJECT_ROOT


def pipeline_path() -> Path:
    """Path of ``pipeline/main.nf`` (``SOILBIOME_PIPELINE`` overrides)."""
    return Path(os.environ.get("SOILBIOME_PIPELINE", PROJECT_ROOT / "pipeline" / "main.nf"))


def nextflow_env() -> dict[str, str]:
    """Environment for a launch: our Nextflow first on PATH, offline, plain log."""
    env = dict(os.environ)
    extra = [str(Path(sys.executable).parent), str(PROJECT_ROOT / "runtime" / "nextflow")]
    env["PATH"] = os.pathsep.join([*extra, env.get("PATH", "")])
    env.setdefault("NXF_OFFLINE", "true")
    if not env.get("USER"):  # Charliecloud's ch-run refuses to start without it
        import getpass

        env["USER"] = getpass.getuser()
    env["NXF_ANSI_LOG"] = "false"
    return env


@dataclass
class RunResult:
    """What a launch ended with."""

    return_code: int
    done: int
    failed: int
    cached: int
    total: int
    log: Path
    stderr: str
    stdout: str


def _count(executions: list) -> tuple[int, int, int, int]:
    done = sum(1 for p in executions if p.status == "COMPLETED")
    failed = sum(1 for p in executions if p.status in ("FAILED", "ABORTED"))
    cached = sum(1 for p in executions if getattr(p, "cached", False))
    return done, failed, cached, len(executions)


def run_pipeline(
    params: dict[str, str],
    profiles: list[str],
    *,
    resume: bool = False,
    launch_dir: Path | None = None,
    configs: list[str] | None = None,
    echo: Callable[[str], None] = print,
    poll_seconds: float = 1.0,
) -> RunResult:
    """Run ``pipeline/main.nf`` with Nextflow via nextflowpy, echoing task progress.

    Parameters
    ----------
    params : dict
        Pipeline parameters (``--name value``).
    profiles : list of str
        Nextflow profiles, e.g. ``["test"]`` or ``["slurm"]``.
    resume : bool
        Pass ``-resume``: completed tasks are taken from the cache.
    launch_dir : Path
        Where ``work/`` and ``.nextflow/`` live (default: the current directory).
    """
    if not pipeline_path().is_file():
        raise ToolError(f"'soilbiome run' needs the pipeline of a repository checkout "
                        f"({pipeline_path()} not found) and Nextflow: see docs/install.md "
                        "(this install gives the commands that need neither)")
    if shutil.which("nextflow", path=nextflow_env()["PATH"]) is None:
        raise ToolError("'soilbiome run' needs Nextflow: no 'nextflow' on PATH; run "
                        "'make setup' in the repository (docs/install.md)")
    # nextflowpy looks for the nextflow executable when it is imported: ours must be on PATH
    os.environ["PATH"] = nextflow_env()["PATH"]
    import nextflow  # nextflowpy
    launch_dir = (launch_dir or Path.cwd()).resolve()
    session_file = launch_dir / ".soilbiome" / "last_session"
    # Nextflow's own -resume takes the last session, even one refused at start-up (no task
    # ran): resume the last session that passed the gate instead
    resume_arg: bool | str = resume
    if resume and session_file.is_file():
        resume_arg = session_file.read_text().strip() or True
    started = dt.datetime.now().timestamp()
    stamp = dt.datetime.now().strftime("%Y%m%dT%H%M%S%f")
    run_dir = launch_dir / ".soilbiome" / "runs" / stamp
    run_dir.mkdir(parents=True)
    env = nextflow_env()

    launched: list[subprocess.Popen] = []

    def runner(command: str) -> None:
        # nextflowpy points NXF_WORK at its output folder; keep work/ in the launch dir instead
        command = re.sub(r"\bNXF_WORK=\S+\s", "", command)
        # its own session: a signal for `soilbiome run` is passed on by _stop_nextflow
        launched.append(subprocess.Popen(command, shell=True, env=env, cwd=launch_dir,
                                         start_new_session=True))

    polling = nextflow.run_and_poll(
        pipeline_path=str(pipeline_path()),
        run_path=str(launch_dir),
        output_path=str(run_dir),
        log_path=str(run_dir),
        runner=runner,
        resume=resume_arg,
        params={k: str(v) for k, v in params.items() if v is not None},
        profiles=profiles or None,
        configs=configs or None,
        sleep=poll_seconds,
    )
    try:
        execution = _follow(polling, echo)
    except BaseException:  # SIGTERM (Terminated), Ctrl-C: Nextflow stops too, cleanly
        _stop_nextflow(launched)
        raise
    for proc in launched:
        proc.wait()
    if execution is None:
        raise ToolError(f"Nextflow did not start; see {run_dir}")
    done, failed, cached, total = _count(execution.process_executions)
    outdir = params.get("outdir")
    record = Path(outdir) / "pipeline_info" / "run_record.json" if outdir else None
    # only a run that passed the start-up gate (it wrote a fresh run record) may touch --outdir
    if record is not None and record.is_file() and record.stat().st_mtime >= started:
        _remember_session(record, session_file)
    if (record is not None and record.is_file() and record.stat().st_mtime >= started
            and (run_dir / ".nextflow.log").is_file()):
        keep = record.parent / "nextflow.log"
        tmp = keep.with_name(".nextflow.log.tmp")
        shutil.copyfile(run_dir / ".nextflow.log", tmp)
        os.replace(tmp, keep)
    code = int(execution.return_code or 1)
    if (code == 0 and record is not None and record.is_file()
            and record.stat().st_mtime >= started and _status(record) == "failed"):
        code = 1  # the tasks succeeded but publishing failed (disk full ...): not a success
    return RunResult(
        return_code=code,
        done=done,
        failed=failed,
        cached=cached,
        total=total,
        log=run_dir / ".nextflow.log",
        stderr=execution.stderr,
        stdout=execution.stdout,
    )


def _follow(polling, echo):  # noqa: ANN001, ANN202
    """Follow nextflowpy's polling to the end, printing the task counts as they change;
    return the last execution (None when Nextflow did not start)."""
    last = None
    execution = None
    for execution in polling:
        counts = _count(execution.process_executions)
        if counts != last and counts[3]:
            done, failed, cached, total = counts
            echo(f"[soilbiome] tasks {done}/{total} done ({cached} cached, {failed} failed)")
            last = counts
    return execution


#: How long a stopped run may take to end its tasks and write its run record.
STOP_GRACE_SECONDS = 120


def _stop_nextflow(launched: list[subprocess.Popen]) -> None:
    """SIGTERM to each Nextflow launch's process group, then wait until the group is gone.

    Nextflow ends its tasks and runs its completion handler (run record ``failed``, the
    results folder's lock released); after ``STOP_GRACE_SECONDS`` what is left is killed.
    """
    import signal
    import time

    for proc in launched:
        try:
            os.killpg(proc.pid, signal.SIGTERM)
        except ProcessLookupError:
            continue
        deadline = time.monotonic() + STOP_GRACE_SECONDS
        while time.monotonic() < deadline:
            proc.poll()  # reap the launching shell once it has ended: a zombie stays in the group
            try:
                os.killpg(proc.pid, 0)  # anything of the launch still running?
            except ProcessLookupError:
                break
            time.sleep(0.2)
        else:
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass


def _status(record: Path) -> str | None:
    """The ``status`` of a run record (None when unreadable)."""
    import json

    try:
        return json.loads(record.read_text()).get("status")
    except (OSError, ValueError, AttributeError):
        return None


def _remember_session(record: Path, session_file: Path) -> None:
    """Keep the session id of a launch that passed the start-up gate (it ran tasks)."""
    import json

    try:
        session = json.loads(record.read_text()).get("session_id")
    except (OSError, ValueError):
        return
    if session:
        tmp = session_file.with_name(".last_session.tmp")
        tmp.write_text(f"{session}\n")
        os.replace(tmp, session_file)


_WORK_DIR = re.compile(r"^Work dir:\s*\n\s*(\S+)", re.MULTILINE)
_PROCESS = re.compile(r"Error executing process > '([^']+)'")


def nextflow_warnings(text: str) -> list[str]:
    """Nextflow's warning lines (``WARN: ...``) in a launch's output, without duplicates."""
    found = [line.strip() for line in text.splitlines() if line.lstrip().startswith("WARN")]
    return list(dict.fromkeys(found))


def failure_summary(text: str, max_lines: int = 20, full: Path | None = None) -> str:
    """What made a run fail, in the failing task's own words.

    For a failed task: its name and the last lines of its ``.command.err`` (or of
    ``.command.out`` when it wrote nothing to stderr) from the task's work folder. Otherwise
    (start-up or script errors): Nextflow's ``ERROR ~`` block from its first line (which names
    the samplesheet or file), the first ``max_lines`` lines of it; when it is longer and
    ``full`` is given, the whole block is written there and the summary names that file.
    """
    process = _PROCESS.search(text)
    work = _WORK_DIR.search(text)
    if work:
        folder = Path(work.group(1))
        for name in (".command.err", ".command.out"):
            path = folder / name
            try:
                lines = [ln for ln in path.read_text(errors="replace").splitlines() if ln.strip()]
            except OSError:
                continue
            if lines:
                head = f"task {process.group(1) if process else '?'} failed ({folder}):"
                return "\n".join([head, *("  " + ln for ln in lines[-max_lines:])])
    lines = text.splitlines()
    for i, line in enumerate(lines):
        if line.startswith("ERROR ~"):
            block = []
            for ln in lines[i:]:
                if ln.lstrip().startswith("-- Check '") or ln.startswith("ERROR ~") and block:
                    break
                if ln.strip():
                    block.append(ln)
            block[0] = block[0].removeprefix("ERROR ~").strip()
            if len(block) <= max_lines:
                return "\n".join(block)
            shown = block[:max_lines]
            rest = len(block) - max_lines
            if full is not None:
                full.parent.mkdir(parents=True, exist_ok=True)
                full.write_text("\n".join(block) + "\n")
                shown.append(f"... and {rest} more line(s): every problem is in {full}")
            else:
                shown.append(f"... and {rest} more line(s)")
            return "\n".join(shown)
    return "\n".join(lines[-max_lines:])
