"""A throwaway single-node SLURM cluster, and helpers for the SLURM and resume tests.

``SlurmCluster`` writes a private ``slurm.conf`` under a temporary directory and starts, as
foreground children of the test process, a private ``munged`` (own key, socket, pid, seed and
log files under that directory), ``slurmctld`` and ``slurmd`` (both as root: ``SlurmUser=root``,
``ProctrackType=proctrack/linuxproc``, ``TaskPlugin=task/none``; no cgroups, no slurmdbd). The
node is declared with this machine's short hostname and the CPUs/memory ``slurmd -C`` reports.
Ports are picked free at start, so two clusters (two engineers running pytest) do not collide.
``stop()`` cancels the cluster's jobs and stops exactly the three daemons it started, by pid.

Nothing outside the temporary directory is written; the only shared things the daemons touch
are reads of ``/etc/passwd``/``/etc/group`` (munged's group map) and two TCP ports on this host.
Client commands find the cluster through ``SLURM_CONF`` (see :meth:`SlurmCluster.env`).

Accounting storage is not configured; ``JobCompType=jobcomp/filetxt`` writes one line per
finished job (id, name, state, exit code, work dir), which :meth:`SlurmCluster.completed_jobs`
parses, and ``sacct --completion`` reads too.
"""

from __future__ import annotations

import atexit
import base64
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
NEXTFLOW = ROOT / "runtime" / "nextflow" / "nextflow"
MAIN = ROOT / "pipeline" / "main.nf"
DAEMONS = ("munged", "slurmctld", "slurmd")


def slurm_unavailable() -> str | None:
    """Why a private cluster cannot be started here, or None if it can."""
    if os.geteuid() != 0:
        return "the throwaway SLURM cluster runs slurmd as root; run the slurm tests as root"
    missing = [t for t in (*DAEMONS, "mungekey", "sbatch", "sinfo", "scontrol", "scancel")
               if shutil.which(t) is None]
    if missing:
        return f"not installed: {', '.join(missing)} (runtime/setup.sh installs slurm-wlm, munge)"
    return None


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _node_line() -> str:
    """``NodeName=<host> CPUs=.. RealMemory=..`` as ``slurmd -C`` reports this machine."""
    out = subprocess.run(["slurmd", "-C"], capture_output=True, text=True, check=True).stdout
    line = next(li for li in out.splitlines() if li.startswith("NodeName="))
    return line.strip()


class SlurmCluster:
    """A private SLURM cluster living in ``root`` (see the module docstring)."""

    partition = "ci"

    def __init__(self, root: Path | None = None, name: str = "soilbiome-ci") -> None:
        # munged insists that every directory above its socket is traversable by all, which
        # pytest's private (0700) tmp_path is not: by default the cluster lives in /tmp.
        self.owns_root = root is None
        if root is None:
            root = Path(tempfile.mkdtemp(prefix="soilbiome-slurm-"))
        self.root = Path(root)
        self.name = name
        self.host = subprocess.run(["hostname", "-s"], capture_output=True, text=True,
                                   check=True).stdout.strip()
        self.conf = self.root / "slurm.conf"
        self.log_dir = self.root / "log"
        self.run_dir = self.root / "run"
        self.jobcomp = self.log_dir / "jobcomp.txt"
        self.ctld_log = self.log_dir / "slurmctld.log"
        self.procs: dict[str, subprocess.Popen] = {}

    # -- setup ----------------------------------------------------------------------------------
    def env(self, base: dict | None = None) -> dict:
        """An environment whose SLURM client commands talk to this cluster."""
        env = dict(os.environ if base is None else base)
        env["SLURM_CONF"] = str(self.conf)
        for var in ("SLURM_CLUSTERS", "SBATCH_PARTITION", "SBATCH_ACCOUNT", "SLURM_JOB_ID"):
            env.pop(var, None)
        return env

    def _write_files(self) -> None:
        # munged wants every directory above its socket traversable by all, and its key
        # directory private; the root of the cluster is root-owned and not writable by others.
        self.root.mkdir(parents=True, exist_ok=True)
        self.root.chmod(0o755)
        for d, mode in (("munge", 0o700), ("run", 0o755), ("log", 0o755), ("state", 0o700),
                        ("spool", 0o755)):
            (self.root / d).mkdir(exist_ok=True)
            (self.root / d).chmod(mode)
        key = self.root / "munge" / "munge.key"
        if not key.exists():
            subprocess.run(["mungekey", "--create", "--keyfile", str(key), "--bits", "1024"],
                           check=True, capture_output=True)
        key.chmod(0o400)
        (self.root / "plugstack.conf").write_text("")  # not the host's /etc/slurm plugins
        # addresses are pinned to loopback: CI containers often cannot resolve their own name
        node = _node_line()
        node = re.sub(r"^NodeName=\S+", f"NodeName={self.host}", node)
        node = re.sub(r"\s+UpTime=\S+", "", node)
        partition = (f"PartitionName={self.partition} Nodes={self.host} Default=YES "
                     "MaxTime=INFINITE State=UP OverSubscribe=FORCE:4")
        r = self.root
        self.conf.write_text(f"""\
# Throwaway single-node cluster for soilbiome's tests (tests/slurm_cluster.py).
ClusterName={self.name}
SlurmctldHost={self.host}(127.0.0.1)
SlurmctldPort={_free_port()}
SlurmdPort={_free_port()}
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket={r}/run/munge.socket
StateSaveLocation={r}/state
SlurmdSpoolDir={r}/spool
SlurmctldPidFile={r}/run/slurmctld.pid
SlurmdPidFile={r}/run/slurmd.pid
SlurmctldLogFile={self.ctld_log}
SlurmdLogFile={r}/log/slurmd.log
SlurmctldDebug=info
SlurmdDebug=info
PlugStackConfig={r}/plugstack.conf
MailProg=/bin/true
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/filetxt
JobCompLoc={self.jobcomp}
MpiDefault=none
SwitchType=switch/none
SchedulerType=sched/builtin
# Cores and memory are consumable, but the partition lets up to 4 jobs share a core
# (OverSubscribe=FORCE:4): the small test tasks run side by side on a 2-core CI machine.
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
DefMemPerNode=1024
ReturnToService=2
InactiveLimit=0
KillWait=5
MinJobAge=3600
{node} NodeAddr=127.0.0.1 State=UNKNOWN
{partition}
""")

    def _spawn(self, name: str, argv: list[str]) -> None:
        out = (self.log_dir / f"{name}.out").open("w")
        # own session: a Ctrl-C in the pytest terminal does not reach the daemons; stop() does
        self.procs[name] = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT,
                                            stdin=subprocess.DEVNULL, env=self.env(),
                                            start_new_session=True)
        out.close()

    def _check_alive(self) -> None:
        for name, proc in self.procs.items():
            if proc.poll() is not None:
                raise RuntimeError(f"{name} exited with {proc.returncode}\n{self.logs()}")

    def start(self, timeout: float = 90) -> SlurmCluster:
        """Start munged, slurmctld, slurmd; return once ``sinfo`` shows the node idle."""
        self._write_files()
        atexit.register(self.stop)  # a second line of defence if the test process is cut short
        r = self.root
        sock = r / "run" / "munge.socket"
        self._spawn("munged", ["munged", "--foreground", f"--socket={sock}",
                               f"--key-file={r}/munge/munge.key",
                               f"--pid-file={r}/run/munged.pid",
                               f"--seed-file={r}/munge/munged.seed",
                               f"--log-file={r}/log/munged.log"])
        self._wait(lambda: sock.exists(), 20, "munged socket")
        self._spawn("slurmctld", ["slurmctld", "-D", "-i", "-f", str(self.conf)])
        self._wait(lambda: self._run(["scontrol", "ping"]).stdout.count("UP") > 0, 30,
                   "slurmctld to answer scontrol ping")
        self._spawn("slurmd", ["slurmd", "-D", "-f", str(self.conf)])
        self._wait(lambda: self.node_state() == "idle", timeout, "node to be idle in sinfo")
        return self

    def _wait(self, ok, timeout: float, what: str) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self._check_alive()
            try:
                if ok():
                    return
            except (OSError, subprocess.SubprocessError):
                pass
            time.sleep(0.3)
        raise TimeoutError(f"waited {timeout}s for {what}\n{self.logs()}")

    def _run(self, argv: list[str], check: bool = False) -> subprocess.CompletedProcess:
        return subprocess.run(argv, env=self.env(), capture_output=True, text=True, timeout=30,
                              check=check)

    # -- queries --------------------------------------------------------------------------------
    def node_state(self) -> str:
        out = self._run(["sinfo", "--noheader", "--Node", "--format=%T"]).stdout.split()
        return out[0] if out else ""

    def completed_jobs(self) -> dict[str, dict]:
        """Finished jobs by id, from the jobcomp/filetxt log (``key=value`` per job)."""
        jobs = {}
        if self.jobcomp.exists():
            for line in self.jobcomp.read_text().splitlines():
                rec = dict(re.findall(r"(\w+)=(\S*)", line))
                if "JobId" in rec:
                    jobs[rec["JobId"]] = rec
        return jobs

    def submitted_job_ids(self) -> set[str]:
        """Job ids slurmctld logged as accepted from sbatch."""
        text = self.ctld_log.read_text() if self.ctld_log.exists() else ""
        return set(re.findall(r"_slurm_rpc_submit_batch_job: JobId=(\d+)", text))

    def logs(self, lines: int = 15) -> str:
        parts = []
        for f in sorted(self.log_dir.glob("*")):
            tail = f.read_text(errors="replace").splitlines()[-lines:]
            parts.append(f"--- {f.name}\n" + "\n".join(tail))
        return "\n".join(parts)

    # -- teardown -------------------------------------------------------------------------------
    def stop(self) -> None:
        """Cancel this cluster's jobs, then stop the daemons this object started, by pid."""
        if self.procs.get("slurmctld") and self.procs["slurmctld"].poll() is None:
            self._run(["scancel", "--full", f"--partition={self.partition}"])
            deadline = time.monotonic() + 15
            while time.monotonic() < deadline:
                if not self._run(["squeue", "--noheader"]).stdout.strip():
                    break
                time.sleep(0.5)
        for name in reversed(DAEMONS):  # slurmd, slurmctld, munged
            proc = self.procs.pop(name, None)
            if proc is None or proc.poll() is not None:
                continue
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=10)

    def __enter__(self) -> SlurmCluster:
        try:
            return self.start()
        except BaseException:
            self.stop()
            raise

    def __exit__(self, *exc) -> None:
        self.stop()

    def cleanup(self, keep_logs_in: Path | None = None) -> None:
        """Remove the cluster's directory (after stop), keeping a copy of its logs if asked."""
        if keep_logs_in is not None and self.log_dir.is_dir():
            shutil.copytree(self.log_dir, keep_logs_in, dirs_exist_ok=True)
            shutil.copy2(self.conf, keep_logs_in / "slurm.conf")
        if self.owns_root:
            shutil.rmtree(self.root, ignore_errors=True)


# -- Nextflow helpers shared by test_slurm.py and test_resume.py --------------------------------
def nextflow_env(cwd: Path, base: dict | None = None) -> dict:
    env = dict(os.environ if base is None else base)
    env.update(NXF_ANSI_LOG="false", NXF_HOME=str(cwd / ".nxf_home"))
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env['PATH']}"
    return env


def nextflow(*args: str, cwd: Path, env: dict | None = None,
             timeout: float = 900) -> subprocess.CompletedProcess:
    """Run Nextflow in ``cwd``; stdout and stderr are also kept in ``cwd/nextflow.out``."""
    proc = subprocess.run([str(NEXTFLOW), *args], cwd=cwd, env=env or nextflow_env(cwd),
                          capture_output=True, text=True, timeout=timeout)
    (cwd / "nextflow.out").write_text(proc.stdout + proc.stderr)
    return proc


# Published files that legitimately differ between two runs of the same inputs: Nextflow's
# timestamped run reports, HTML reports (fastp and ours embed dates and durations), logs.
# (the run crate records run names, task hashes and times; MultiQC's data records its run)
VOLATILE_NAME = re.compile(
    r"(^|/)(execution_(trace|timeline|report)_.*|pipeline_dag_.*|nextflow\.log|run_record\.json"
    r"|.*\.html?|ro-crate-metadata\.json|multiqc_report_data/.*)$")
# Keys holding run times, run names, absolute run paths or per-run key material inside JSON /
# YAML outputs (the test profiles sign with a throwaway key made for each run).
VOLATILE_KEY = re.compile(
    r"^(creation[-_]date|created|date|time|timestamp|.*_(at|time|date)|start|complete|duration"
    r"|run[-_]?(name|id)|session[-_]?id|launch[-_]?dir|work[-_]?dir|outdir|command[-_]?line"
    r"|hostname|user|valid[-_](from|until)|key[-_]?id|public[-_]?key.*|sig|signatures?"
    r"|slurm_.*)$",  # params.json: the executor settings of the SLURM run
    re.IGNORECASE)
CHECKSUM_KEY = re.compile(r"^(sha256|sha1|md5|checksum|digest)$", re.IGNORECASE)
# Checksums of files that hold per-run content: the agreement the test profile publishes trusts
# that run's throwaway public key.
VOLATILE_CHECKSUM_KEY = re.compile(r"^agreement_sha256$")


def _scrub(obj):
    if isinstance(obj, dict):
        # a DSSE envelope: compare the decoded payload, not the signed bytes
        if {"payload", "payloadType"} <= obj.keys():
            try:
                obj = {**obj, "payload": json.loads(base64.b64decode(obj["payload"]))}
            except ValueError:
                pass
        # the checksum of a BIOM file changes with the file's creation-date; the BIOM itself is
        # compared by content
        names = [v for k, v in obj.items() if k in ("path", "file", "name")]
        biom_ref = any(isinstance(v, str) and v.endswith(".biom") for v in names)
        return {k: _scrub(v) for k, v in obj.items()
                if not VOLATILE_KEY.match(str(k)) and not VOLATILE_CHECKSUM_KEY.match(str(k))
                and not (biom_ref and CHECKSUM_KEY.match(str(k)))}
    if isinstance(obj, list):
        return [_scrub(v) for v in obj]
    if isinstance(obj, str) and obj[:1] in "{[":  # JSON kept in an HDF5 attribute
        try:
            return _scrub(json.loads(obj))
        except ValueError:
            return obj
    return obj


def _canonical(path: Path, rel: str, replace: dict[str, str]) -> object:
    """Comparable content of a published file: bytes, or parsed and scrubbed data.

    ``replace`` maps run-specific strings (the run's directory, Nextflow run names) to
    placeholders.
    """
    data = path.read_bytes()
    if data[:8] == b"\x89HDF\r\n\x1a\n":  # BIOM 2.1 and other HDF5: datasets + stable attrs
        import h5py
        import numpy as np

        out = {}
        with h5py.File(path, "r") as h5:
            out["/attrs"] = _scrub(_replace(
                {k: np.asarray(v).tolist() for k, v in h5.attrs.items()}, replace))

            def visit(name, item):
                if isinstance(item, h5py.Dataset):
                    out[name] = _replace(np.asarray(item[()]).tolist(), replace)
                out[name + "/attrs"] = _scrub(_replace(
                    {k: np.asarray(v).tolist() for k, v in item.attrs.items()}, replace))

            h5.visititems(visit)
        return out
    try:
        text = data.decode()
    except UnicodeDecodeError:
        return data
    text = _replace(text, replace)
    if rel.endswith(".json"):
        return _scrub(json.loads(text))
    if rel.endswith((".yml", ".yaml")):
        import yaml

        return _scrub(yaml.safe_load(text))
    return text


def _replace(obj, replace: dict[str, str]):
    if isinstance(obj, bytes):
        try:
            obj = obj.decode()
        except UnicodeDecodeError:
            return obj
    if isinstance(obj, str):
        for old, new in replace.items():
            obj = obj.replace(old, new)
        return obj
    if isinstance(obj, list):
        return [_replace(v, replace) for v in obj]
    if isinstance(obj, dict):
        return {k: _replace(v, replace) for k, v in obj.items()}
    return obj


def run_names(launch: Path) -> set[str]:
    """Nextflow run names (``[adjective_name]``) of the runs launched in ``launch``."""
    names = set()
    for f in launch.glob("*.out"):
        names.update(re.findall(r"^Launching `[^`]+` \[([a-z]+_[a-z]+)\]", f.read_text(),
                                flags=re.M))
    return names


def published_outputs(outdir: Path, launch: Path) -> dict[str, object]:
    """Every deterministic published file of a run, relative path -> comparable content.

    ``launch`` is the run's launch directory: its path and the run names found in its
    ``*.out`` logs are replaced by placeholders before comparing.
    """
    names = run_names(launch)
    record = outdir / "pipeline_info" / "run_record.json"
    if record.is_file():  # the run that published these files, however it was launched
        names.add(json.loads(record.read_text())["run_name"])
    replace = {str(launch): "<LAUNCH_DIR>", **{n: "<RUN_NAME>" for n in names}}
    out = {}
    for path in sorted(p for p in outdir.rglob("*") if p.is_file()):
        rel = path.relative_to(outdir).as_posix()
        if not VOLATILE_NAME.search(rel):
            out[rel] = _canonical(path, rel, replace)
    return out


def output_differences(a: dict[str, object], b: dict[str, object]) -> list[str]:
    """Human-readable differences between two ``published_outputs`` results."""
    diffs = [f"only in first run: {k}" for k in sorted(a.keys() - b.keys())]
    diffs += [f"only in second run: {k}" for k in sorted(b.keys() - a.keys())]
    diffs += [f"content differs: {k}" for k in sorted(a.keys() & b.keys()) if a[k] != b[k]]
    return diffs
