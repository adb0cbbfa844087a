"""Write outputs atomically, and leave nothing behind when the disk fills or the run is killed.

Every output is written under a hidden temp name beside its target (``.NAME.XXXX.tmp``, a
folder ``.NAME.XXXX``) and renamed into place only when the whole step succeeded:
:func:`atomic_outputs` stages any number of files and folders and commits them together (with
SIGTERM/SIGINT held back during the renames), :func:`atomic_path` / :func:`atomic_write` are
the one-file forms. Every temp name is registered while it exists, so that:

* a full disk (``ENOSPC``, ``EDQUOT``, or ``EFBIG`` from ``ulimit -f``; Python ignores
  ``SIGXFSZ``, so the write fails instead of the process being killed) becomes one
  :class:`DiskFullError` -- ``disk full writing <target>`` -- with the temp files removed;
* SIGTERM raises :class:`Terminated` (Ctrl-C its usual ``KeyboardInterrupt``) in the main
  thread (:func:`fault_handlers`, installed by the CLI): the stack unwinds through the same
  cleanup, :func:`sweep` removes whatever is still registered, and the CLI exits 143 (130)
  with one line.

Earlier results stay byte-identical in both cases: nothing is renamed over them.
"""

from __future__ import annotations

import errno
import os
import shutil
import signal
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO

from soilbiome.errors import OutputError

#: errno values that mean "no room to write": no space, quota, file size limit.
FULL_ERRNOS = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EFBIG})
#: How HDF5 (h5py) and other C libraries spell them in a message.
_FULL_TEXT = ("errno = 27", "errno = 28", "errno = 122", "File too large",
              "No space left on device", "Disk quota exceeded")
#: Exit codes of a run stopped by a signal (shell convention: 128 + signal number).
EXIT_SIGTERM = 128 + signal.SIGTERM
EXIT_SIGINT = 128 + signal.SIGINT

#: temp path -> the output it stands for, for every temp file or folder that exists now.
_LIVE: dict[Path, Path] = {}


class DiskFullError(OutputError):
    """The disk (or the file size limit) was full while writing an output."""

    def __init__(self, target: str | Path, *, hdf5: bool = False) -> None:
        #: True when HDF5 itself failed mid-write (its library state is then unreliable).
        self.hdf5 = hdf5
        super().__init__(f"disk full writing {target}")


class Terminated(BaseException):  # noqa: N818 - a signal, not an error of the input
    """SIGTERM (or SIGINT) arrived; raised in the main thread so that cleanup runs."""

    def __init__(self, signum: int) -> None:
        self.signum = signum
        self.exit_code = 128 + signum
        super().__init__(signal.Signals(signum).name)


def is_disk_full(exc: BaseException) -> bool:
    """Whether ``exc`` (an OSError, or h5py's RuntimeError/OSError text) means a full disk."""
    if isinstance(exc, OSError) and exc.errno in FULL_ERRNOS:
        return True
    if isinstance(exc, (OSError, RuntimeError, ValueError)):
        text = str(exc)
        return any(t in text for t in _FULL_TEXT)
    return False


def public_name(path: str | Path) -> Path:
    """``path`` as the user will know it: a path inside a staged temp folder is named inside
    the folder it becomes (``out/.cmp.x1y2/merged.biom`` -> ``out/cmp/merged.biom``)."""
    path = Path(path)
    for _ in range(8):  # staged folders may nest
        for tmp, target in _LIVE.items():
            if path == tmp:
                path = target
                break
            if str(path).startswith(f"{tmp}{os.sep}"):
                path = target / os.path.relpath(path, tmp)
                break
        else:
            return path
    return path


#: While > 0, SIGTERM/SIGINT are only noted (:func:`_held`); the signal that arrived meanwhile.
#: "received": the last signal the handler saw. Its exception can be swallowed when the signal
#: lands inside a finaliser or weakref callback (Python prints "Exception ignored" and goes on),
#: so commits and the end of :func:`fault_handlers` raise it again (:func:`_raise_if_swallowed`).
_HOLD = {"depth": 0, "pending": None, "received": None}


def _raise_if_swallowed() -> None:
    """Raise the signal whose exception a finaliser swallowed: a command never completes, or
    publishes, after SIGTERM/SIGINT."""
    if _HOLD["received"] is not None:
        raise _exception(_HOLD["received"])


@contextmanager
def _held() -> Iterator[None]:
    """SIGTERM and SIGINT wait until the block is done (a temp is made and registered, or
    renamed and forgotten, as one step). The Python-level handler defers itself here: a
    signal mask would not do, since the kernel may deliver the signal to another thread
    (BLAS workers), which only flags it for the main thread."""
    _HOLD["depth"] += 1
    try:
        yield
    finally:
        _HOLD["depth"] -= 1
        pending = _HOLD["pending"]
        if _HOLD["depth"] == 0 and pending is not None:
            _HOLD["pending"] = None
            raise _exception(pending)


def _register(tmp: Path, target: Path) -> None:
    _LIVE[tmp] = target


def _remove(tmp: Path) -> None:
    try:
        if tmp.is_dir() and not tmp.is_symlink():
            shutil.rmtree(tmp, ignore_errors=True)
        else:
            tmp.unlink()
    except OSError:
        pass
    if not (tmp.exists() or tmp.is_symlink()):
        _LIVE.pop(tmp, None)


def sweep() -> list[Path]:
    """Remove every registered temp file and folder that still exists; return them."""
    gone = []
    for tmp in list(_LIVE):
        if tmp.exists() or tmp.is_symlink():
            gone.append(tmp)
        _remove(tmp)
    return gone


def _cannot_write(target: Path, exc: OSError) -> OutputError:
    if is_disk_full(exc):
        return DiskFullError(public_name(target))
    return OutputError(f"cannot write here: {exc.strerror or exc}", location=str(target))


class Outputs:
    """The outputs of one step, staged under temp names (see :func:`atomic_outputs`)."""

    def __init__(self) -> None:
        self._staged: list[tuple[Path, Path]] = []  # (temp, target) in commit order
        self._made: list[Path] = []  # folders created for the targets, removed on discard

    def _parent(self, target: Path) -> None:
        missing = []
        folder = target.parent
        while not folder.exists() and folder != folder.parent:
            missing.append(folder)
            folder = folder.parent
        target.parent.mkdir(parents=True, exist_ok=True)
        self._made += reversed(missing)

    def file(self, target: str | Path) -> Path:
        """A new empty temp file beside ``target`` (mode as a normal new file)."""
        target = Path(target)
        with _held():
            try:
                self._parent(target)
                fd, name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp",
                                            dir=target.parent)
            except OSError as exc:
                raise _cannot_write(target, exc) from None
            tmp = Path(name)
            _register(tmp, target)
            self._staged.append((tmp, target))
        os.close(fd)
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)  # mkstemp makes 0600; outputs get the usual mode
        return tmp

    def folder(self, target: str | Path) -> Path:
        """A new empty temp folder beside ``target``; it replaces ``target`` (absent or
        empty) on commit."""
        target = Path(target)
        with _held():
            try:
                self._parent(target)
                tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.", dir=target.parent))
            except OSError as exc:
                raise _cannot_write(target, exc) from None
            _register(tmp, target)
            self._staged.append((tmp, target))
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o777 & ~umask)
        return tmp

    def target_of(self, exc: BaseException) -> Path | None:
        """The output whose temp file ``exc`` names (else the first staged output)."""
        filename = str(getattr(exc, "filename", "") or "")
        text = f"{filename} {exc}"
        for tmp, target in self._staged:
            if filename.startswith(f"{tmp}{os.sep}"):  # a file inside a staged folder
                return target / os.path.relpath(filename, tmp)
            if str(tmp) in text or tmp.name in text:
                return target
        return self._staged[0][1] if self._staged else None

    def commit(self) -> None:
        """Rename every staged output into place, in order, with SIGTERM/SIGINT held back."""
        with _held():
            _raise_if_swallowed()
            for tmp, target in self._staged:
                try:
                    if tmp.is_dir() and target.is_dir() and not target.is_symlink():
                        target.rmdir()  # an empty folder the caller checked
                    os.replace(tmp, target)
                except OSError as exc:
                    raise _cannot_write(target, exc) from None
                _LIVE.pop(tmp, None)

    def discard(self) -> None:
        """Remove every staged temp that still exists."""
        for tmp, _ in self._staged:
            if tmp in _LIVE:
                _remove(tmp)
        for folder in reversed(self._made):  # deepest first; only while still empty
            try:
                folder.rmdir()
            except OSError:
                pass


@contextmanager
def atomic_outputs() -> Iterator[Outputs]:
    """Stage outputs (``.file(target)``, ``.folder(target)``); all are renamed into place
    only if the block succeeds, else all temps are removed.

    A full disk raises :class:`DiskFullError` naming the output being written; any other
    exception (:class:`Terminated` included) propagates after the temps are removed.
    """
    outputs = Outputs()
    try:
        yield outputs
        outputs.commit()
    except BaseException as exc:
        outputs.discard()
        if isinstance(exc, OutputError):
            raise
        if is_disk_full(exc):
            target = outputs.target_of(exc)
            hdf5 = "errno = " in str(exc)  # HDF5's spelling: its library failed mid-write
            raise DiskFullError(public_name(target) if target else "an output",
                                hdf5=hdf5) from None
        raise


@contextmanager
def atomic_path(target: str | Path) -> Iterator[Path]:
    """Yield a temp path beside ``target``; rename it to ``target`` only if the block succeeds.

    A folder that cannot be created or written raises :class:`~soilbiome.errors.OutputError`
    naming ``target`` (one line, not a traceback); a full disk :class:`DiskFullError`.
    """
    with atomic_outputs() as outputs:
        yield outputs.file(target)


@contextmanager
def atomic_write(target: str | Path, mode: str = "w") -> Iterator[IO]:
    """Open a temp file for writing; it replaces ``target`` only when the block succeeds."""
    with atomic_path(target) as tmp, open(tmp, mode, newline="" if "b" not in mode else None) as fh:
        yield fh


def ensure_room(path: str | Path, nbytes: int) -> None:
    """Check that ``path`` can grow by ``nbytes``: reserve them past its end, then cut back.

    Used before a library that cannot survive a failed write (HDF5) writes to a file: a full
    disk or file size limit then fails here, in plain Python, with ``OSError`` naming
    ``path``. The room is reserved with ``posix_fallocate`` (no data written; the C library
    writes zeros where the file system cannot reserve).
    """
    size = os.path.getsize(path)
    try:
        with open(path, "r+b") as handle:
            try:
                if nbytes > 0:
                    os.posix_fallocate(handle.fileno(), size, nbytes)
            finally:
                handle.truncate(size)
    except OSError as exc:
        raise OSError(exc.errno, exc.strerror, str(path)) from None


def _raise_terminated(signum: int, frame: object) -> None:  # noqa: ARG001
    # one-shot: a second signal during cleanup must not interrupt the cleanup
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    _HOLD["received"] = signum
    if _HOLD["depth"] > 0:  # inside _held: raised when the block is done
        _HOLD["pending"] = signum
        return
    raise _exception(signum)


def _exception(signum: int) -> BaseException:
    """SIGINT stays Python's KeyboardInterrupt (child processes then get their grace period
    from :mod:`subprocess`); SIGTERM becomes :class:`Terminated`."""
    return KeyboardInterrupt() if signum == signal.SIGINT else Terminated(signum)


@contextmanager
def fault_handlers() -> Iterator[None]:
    """While the block runs (main thread only): SIGTERM and SIGINT raise :class:`Terminated`;
    the previous handlers are restored afterwards."""
    import threading

    if threading.current_thread() is not threading.main_thread():
        yield
        return
    old = {s: signal.getsignal(s) for s in (signal.SIGTERM, signal.SIGINT)}
    if hasattr(signal, "SIGXFSZ"):  # a write past `ulimit -f` must fail with EFBIG, not kill
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    for s in old:
        signal.signal(s, _raise_terminated)
    hook, excepthook = sys.unraisablehook, sys.excepthook
    sys.unraisablehook = _quiet_full_disk(hook)
    sys.excepthook = _quiet_full_disk_excepthook(excepthook)
    _HOLD["received"] = None
    try:
        yield
        _raise_if_swallowed()
    finally:
        sys.unraisablehook, sys.excepthook = hook, excepthook
        for s, handler in old.items():
            signal.signal(s, handler if handler is not None else signal.SIG_DFL)


def _quiet_full_disk_excepthook(hook):  # noqa: ANN001, ANN202
    """The same for ``sys.excepthook``, which Cython's destructors call first (they print the
    full traceback with ``PyErr_PrintEx``)."""
    def quiet(kind, value, tb) -> None:  # noqa: ANN001
        if value is not None and is_disk_full(value):
            return
        hook(kind, value, tb)
    return quiet


def _quiet_full_disk(hook):  # noqa: ANN001, ANN202
    """An unraisable-exception hook that drops HDF5's "ignored" full-disk errors (h5py reports
    them from object destructors, one traceback each) and our own SIGTERM/SIGINT exception
    when it lands in a finaliser (raised again later), and passes anything else on."""
    def quiet(info) -> None:  # noqa: ANN001
        if info.exc_value is not None and is_disk_full(info.exc_value):
            return
        if isinstance(info.exc_value, (Terminated, KeyboardInterrupt)) and \
                _HOLD["received"] is not None:
            return  # our signal, swallowed by a finaliser: raised again (_raise_if_swallowed)
        hook(info)
    return quiet


def real_process() -> bool:
    """Whether stderr is a real file descriptor (the command line, not an in-process test)."""
    try:
        sys.stderr.fileno()
    except (AttributeError, OSError, ValueError):
        return False
    return True
