"""A run's output files as one set: written aside, swapped into place whole.

A run writes into a fresh folder beside the target (``.out.tmp-<run id>``, unique
per run) and only when every file is written swaps it into place in one step:

- on Linux the two folders are exchanged atomically (``renameat2`` with
  ``RENAME_EXCHANGE``); elsewhere two renames; Ctrl-C and SIGTERM are held back
  until the swap is done, so an interrupt cannot fall in it;
- the previous run's folder is kept beside it, renamed with its time stamp
  (``out-20261124-104455``), or removed with ``overwrite=True``;
- an exclusive lock on ``.out.lock`` serialises the swaps of concurrent runs
  into one folder, so each swap moves one complete set out and one in;
- an interrupted or failed run removes its own temporary folder and leaves the
  target as it was; a run killed outright (SIGKILL, out of memory) cannot, so each
  temporary folder names its process (``.out.tmp-<run id>.<pid>@<host>``) and the
  next run into the same folder removes those whose process on this host is gone.

``summary.json`` names the run (``run.id``, ``run.scenario_sha256``) and lists the
SHA-256 of every other file of the set (``run.files``), so a reader can prove the
files belong together: see :func:`verify_output_set`.
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import datetime as dt
import hashlib
import json
import logging
import os
import secrets
import shutil
import signal
import stat
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from polygeo.errors import InputError

log = logging.getLogger("polygeo")

__all__ = [
    "OutputSet",
    "check_output_file",
    "check_writable",
    "new_run_id",
    "remove_abandoned",
    "scenario_sha256",
    "verify_output_set",
]

_RENAME_EXCHANGE = 2  # linux/fs.h
_SUMMARY = "summary.json"


def new_run_id(now: dt.datetime | None = None) -> str:
    """A unique run id: UTC time stamp and 6 random hex digits, e.g. ``20261124T104455Z-3fa2c1``."""
    now = now or dt.datetime.now(dt.UTC)
    return f"{now:%Y%m%dT%H%M%SZ}-{secrets.token_hex(3)}"


def scenario_sha256(scenario: Any) -> str:
    """SHA-256 of the scenario file's bytes (of its checked tables when built in memory)."""
    path = Path(scenario.base_dir) / str(scenario.source)
    if path.is_file():
        return hashlib.sha256(path.read_bytes()).hexdigest()
    fields = {k: v for k, v in vars(scenario).items() if k not in ("base_dir", "source")}
    text = json.dumps(fields, sort_keys=True, default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def check_writable(target: Path) -> None:
    """Raise an :class:`InputError` unless a run can write the output set ``target``.

    ``target`` must be a folder (or not exist yet) that is not read-only, and its
    parent folder must exist or be creatable, and be writable: the new set is
    written beside ``target`` and swapped into place.
    """
    fix = "choose another folder with --out (or [output] dir in the scenario)"
    if target.exists() and not target.is_dir():
        raise InputError(f"output folder {target} is a file, not a folder; remove it or {fix}")
    if target.is_dir() and _read_only(target):
        raise InputError(
            f"output folder {target} is read-only; make it writable (chmod u+w) or {fix}"
        )
    parent = target.parent
    while not parent.exists():
        parent = parent.parent
    if not parent.is_dir():
        raise InputError(f"output folder {target}: {parent} is a file, not a folder; {fix}")
    if _read_only(parent):
        raise InputError(
            f"output folder {target}: its parent folder {parent} is read-only (the new "
            f"results are written beside the old ones); make it writable or {fix}"
        )


def check_output_file(path: str | Path) -> Path:
    """Raise an :class:`InputError` unless a single output file can be written at ``path``.

    Checked before any work starts (``polygeo matrix --out``): ``path`` must not be
    a folder, and its folder must exist and be writable.
    """
    path = Path(path).expanduser().absolute()
    fix = "choose another path with --out"
    if path.is_dir():
        raise InputError(f"output file {path} is a folder; give a file name inside it, or {fix}")
    if not path.parent.is_dir():
        raise InputError(f"cannot write {path}: folder {path.parent} does not exist; create it")
    if _read_only(path.parent) or (path.exists() and not path.stat().st_mode & stat.S_IWUSR):
        raise InputError(f"cannot write {path}: it or its folder is read-only; {fix}")
    return path


def _read_only(folder: Path) -> bool:
    # the mode bits too: for root os.access says yes to everything
    return not os.access(folder, os.W_OK | os.X_OK) or not folder.stat().st_mode & stat.S_IWUSR


class OutputSet:
    """The temporary folder a run writes into, and the swap that publishes it.

    Parameters
    ----------
    target
        The output folder the user asked for.
    overwrite
        Remove the previous run's folder instead of keeping it with its time stamp.
    run_id
        The run's id (default :func:`new_run_id`).

    Examples
    --------
    >>> with OutputSet(Path("out")) as output:  # doctest: +SKIP
    ...     write_plan(plan, output.folder, ...)
    ...     output.commit({"scenario_sha256": ...})
    """

    def __init__(
        self, target: str | Path, *, overwrite: bool = False, run_id: str | None = None
    ) -> None:
        self.target = Path(target).expanduser().absolute()
        self.overwrite = overwrite
        self.run_id = run_id or new_run_id()
        self.started = _now()
        self.folder: Path | None = None  # the temporary folder until published
        self.staging: Path | None = None  # its path, kept after publishing
        self.previous: Path | None = None

    def __enter__(self) -> OutputSet:
        self.open()
        return self

    def __exit__(self, *exc: object) -> None:
        self.discard()

    def open(self) -> Path:
        """Check ``target`` is writable and create the run's temporary folder beside it."""
        check_writable(self.target)
        self.target.parent.mkdir(parents=True, exist_ok=True)
        remove_abandoned(self.target)
        owner = f"{os.getpid()}@{_host()}"
        folder = self.target.parent / f".{self.target.name}.tmp-{self.run_id}.{owner}"
        try:
            folder.mkdir()
        except OSError as exc:
            raise InputError(
                f"cannot write beside the output folder {self.target}: {exc.strerror}; "
                "choose another folder with --out"
            ) from exc
        self.folder = self.staging = folder
        return folder

    def discard(self) -> None:
        """Remove the temporary folder if it was not published (safe to call twice)."""
        if self.folder is not None and self.folder.exists():
            shutil.rmtree(self.folder, ignore_errors=True)
        self.folder = None

    def path(self, written: Path) -> Path:
        """Where a file written in the temporary folder lives once published."""
        written = Path(written)
        if self.staging is not None and written.is_relative_to(self.staging):
            return self.target / written.relative_to(self.staging)
        return self.target / written.name

    def commit(self, run: dict[str, Any] | None = None) -> Path:
        """Name the run in ``summary.json`` and swap the set into place.

        Parameters
        ----------
        run
            Extra fields of ``summary.json``'s ``run`` table (e.g. the scenario hash).

        Returns
        -------
        Path
            The published folder (``target``).
        """
        if self.folder is None:
            raise RuntimeError("OutputSet.commit() before open()")
        self._stamp(run or {})
        with _lock(self.target), _signals_held():
            self.previous = self._swap()
        if self.previous is not None and self.overwrite:
            shutil.rmtree(self.previous, ignore_errors=True)
            self.previous = None
        self.folder = None
        return self.target

    def _stamp(self, run: dict[str, Any]) -> None:
        assert self.folder is not None
        summary_path = self.folder / _SUMMARY
        summary = json.loads(summary_path.read_text("utf-8")) if summary_path.exists() else {}
        block = {
            "id": self.run_id,
            "started": self.started,
            "finished": _now(),
            **run,
            "files": {name: _file_sha256(self.folder / name) for name in _files(self.folder)},
        }
        summary = {"run": block, **{k: v for k, v in summary.items() if k != "run"}}
        tmp = self.folder / f".{_SUMMARY}.tmp"
        tmp.write_text(json.dumps(summary, indent=2) + "\n", encoding="utf-8")
        os.replace(tmp, summary_path)

    def _swap(self) -> Path | None:
        """Publish the temporary folder; return where the previous set went (or None)."""
        assert self.folder is not None
        if not self.target.exists():
            os.rename(self.folder, self.target)
            return None
        backup = _backup_name(self.target)
        if _exchange(self.folder, self.target):
            os.rename(self.folder, backup)  # the temporary name now holds the old set
        else:
            os.rename(self.target, backup)
            os.rename(self.folder, self.target)
        return backup


def _host() -> str:
    return os.uname().nodename if hasattr(os, "uname") else "localhost"


def _process_is_gone(pid: int) -> bool:
    if os.name != "posix":  # on Windows os.kill(pid, 0) would end the process
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except OSError:  # alive but another user's (PermissionError), or no signals here
        return False
    return False


def remove_abandoned(target: str | Path) -> list[Path]:
    """Remove the temporary folders beside ``target`` of runs killed on this host.

    A temporary folder is abandoned when the process its name records
    (``.<target>.tmp-<run id>.<pid>@<host>``) ran on this host and no longer exists;
    folders of other hosts (a shared disk) and of running processes are left alone.

    Returns
    -------
    list of Path
        The folders removed.
    """
    target = Path(target)
    host = _host()
    removed = []
    for folder in target.parent.glob(f".{target.name}.tmp-*.*@*"):
        head, _, where = folder.name.rpartition("@")
        pid_text = head.rpartition(".")[2]
        if where != host or not pid_text.isdigit() or int(pid_text) == os.getpid():
            continue
        if _process_is_gone(int(pid_text)):
            shutil.rmtree(folder, ignore_errors=True)
            log.info("removed %s, left by a run that was killed (process %s)", folder, pid_text)
            removed.append(folder)
    return removed


def _files(folder: Path) -> list[str]:
    """Every file of a set but ``summary.json``, as ``/``-separated relative paths."""
    names = (p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file())
    return sorted(name for name in names if name != _SUMMARY)


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def _backup_name(target: Path) -> Path:
    """``<target>-<time stamp of the previous run>``, with ``-2``, ``-3``... if taken."""
    stamp = None
    with contextlib.suppress(OSError, ValueError, KeyError, TypeError, AttributeError):
        finished = json.loads((target / _SUMMARY).read_text("utf-8"))["run"]["finished"]
        stamp = dt.datetime.fromisoformat(finished.replace("Z", "+00:00"))
    if stamp is None:
        stamp = dt.datetime.fromtimestamp(target.stat().st_mtime, dt.UTC)
    base = target.parent / f"{target.name}-{stamp:%Y%m%d-%H%M%S}"
    candidate, n = base, 1
    while candidate.exists():
        n += 1
        candidate = base.with_name(f"{base.name}-{n}")
    return candidate


def _exchange(a: Path, b: Path) -> bool:
    """Swap two folders atomically (Linux ``renameat2``); False where unavailable."""
    libc_name = ctypes.util.find_library("c")
    if not libc_name:
        return False
    libc = ctypes.CDLL(libc_name, use_errno=True)
    renameat2 = getattr(libc, "renameat2", None)
    if renameat2 is None:
        return False
    at_fdcwd = -100
    result = renameat2(at_fdcwd, os.fsencode(a), at_fdcwd, os.fsencode(b), _RENAME_EXCHANGE)
    if result != 0:
        errno = ctypes.get_errno()
        if errno in (22, 38, 95):  # EINVAL, ENOSYS, EOPNOTSUPP: the file system cannot
            return False
        raise OSError(errno, os.strerror(errno), str(b))
    return True


@contextlib.contextmanager
def _lock(target: Path) -> Iterator[None]:
    """An exclusive lock on ``.<target>.lock`` beside the target (none where no fcntl)."""
    try:
        import fcntl
    except ImportError:  # pragma: no cover - Windows
        yield
        return
    lock_path = target.parent / f".{target.name}.lock"
    with lock_path.open("a") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


@contextlib.contextmanager
def _signals_held() -> Iterator[None]:
    """Defer SIGINT/SIGTERM until the block ends (main thread; no-op elsewhere).

    Blocking the signal mask is not enough: another thread (a solver's, a
    reader's) may receive a process-wide signal, and Python runs handlers in the
    main thread anyway. So the handlers are swapped for one that records the
    signal; after the block the original handler gets it.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    received: list[int] = []
    held = [s for s in (signal.SIGINT, signal.SIGTERM)]
    old = {s: signal.signal(s, lambda signum, frame: received.append(signum)) for s in held}
    try:
        yield
    finally:
        for s, handler in old.items():
            signal.signal(s, handler)
        for signum in dict.fromkeys(received):
            handler = old[signum]
            if callable(handler):
                handler(signum, None)
            elif handler == signal.SIG_DFL:
                os.kill(os.getpid(), signum)


def verify_output_set(folder: str | Path) -> list[str]:
    """Check that a folder holds exactly one run's files, unchanged.

    Parameters
    ----------
    folder
        An output folder written by ``polygeo run``.

    Returns
    -------
    list of str
        Problems (empty when every file listed in ``summary.json`` ``run.files``
        is present with its SHA-256 and no other file is there).
    """
    folder = Path(folder)
    try:
        run = json.loads((folder / _SUMMARY).read_text("utf-8"))["run"]
        listed: dict[str, str] = dict(run["files"])
    except (OSError, ValueError, KeyError, TypeError) as exc:
        return [f"{folder / _SUMMARY}: no run table ({exc})"]
    problems = []
    present = set(_files(folder))
    for name in sorted(present - set(listed)):
        problems.append(f"{name} is not a file of run {run.get('id')}")
    for name, digest in sorted(listed.items()):
        path = folder / name
        if not path.exists():
            problems.append(f"{name} of run {run.get('id')} is missing")
        elif _file_sha256(path) != digest:
            problems.append(f"{name} differs from the file run {run.get('id')} wrote")
    return problems
