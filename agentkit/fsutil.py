"""File writing that never leaves a half-written file, a mixed set, or a write into site-packages.

- :func:`atomic_write`: one file, through a temporary file in the same folder and a rename.
- :func:`replace_file_set`: a folder of outputs (a report set) built in a temporary folder next to
  it and swapped into place with one atomic exchange, so a reader, or a process killed at any
  point, sees the complete old set or the complete new one.

Files are created ``0666`` minus the umask (``0644`` usually), like any other tool's output, not
``mkstemp``'s ``0600``. Nothing is ever written inside an installed package (site-packages).
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import os
import shutil
import site
import sysconfig
import tempfile
from collections.abc import Iterable, Mapping
from functools import cache
from pathlib import Path

from agentkit.errors import InputError

_TMP_MARK = ".agentkit-tmp-"  # temporary siblings: .<name>.agentkit-tmp-<pid>-<random>
_AT_FDCWD = -100
_RENAME_EXCHANGE = 2


def atomic_write(path: Path, data: str | bytes) -> None:
    """Write ``data`` to ``path`` through a temporary file in the same folder, then rename.

    A reader sees either the old file or the complete new one; on error nothing is left behind.
    """
    refuse_installed(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        _write_fd(fd, data)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def replace_file_set(
    folder: Path, files: Mapping[str, str | bytes], *, replaces: Iterable[str] = ()
) -> None:
    """Make ``folder`` hold exactly ``files`` (name -> content) in one atomic step.

    Entries named in ``replaces`` (an earlier set's names) are dropped; any other plain file
    already in ``folder`` is carried over (hard-linked), so the folder may hold the user's own
    files too. The old set is never mixed with the new one, and no temporary file is ever left
    inside ``folder``: a run killed midway leaves a hidden sibling that the next run removes.
    """
    refuse_installed(folder)
    folder = Path(os.path.abspath(folder))
    if folder.is_symlink():
        folder = folder.resolve()
    if folder.exists() and not folder.is_dir():
        raise InputError(f"{folder}: exists and is not a folder")
    folder.parent.mkdir(parents=True, exist_ok=True)
    _remove_stale_siblings(folder)
    staging = Path(
        tempfile.mkdtemp(dir=folder.parent, prefix=f".{folder.name}{_TMP_MARK}{os.getpid()}-")
    )
    try:
        staging.chmod(_mode(0o777) if not folder.exists() else folder.stat().st_mode & 0o7777)
        if folder.exists():
            _carry_over(folder, staging, {*files, *replaces})
        for name, data in files.items():
            _write_fd(os.open(staging / name, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666), data)
        _fsync_dir(staging)
        if folder.exists():
            _exchange(staging, folder)  # staging now holds the old set
        else:
            os.rename(staging, folder)
        _fsync_dir(folder.parent)
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def refuse_installed(path: Path) -> None:
    """Refuse to write anywhere inside an installed package (site-packages)."""
    target = Path(os.path.abspath(path))
    with contextlib.suppress(OSError):
        target = target.resolve()
    for root in _site_roots():
        if target.is_relative_to(root):
            raise InputError(
                f"{path}: inside the installed package folder {root}; agentkit never writes "
                "there: work on a copy in your repository and pass its path "
                "(e.g. agentkit tools lock --root ./tools)"
            )


@cache
def _site_roots() -> tuple[Path, ...]:
    found = {sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]}
    with contextlib.suppress(AttributeError):
        found.update(site.getsitepackages())
    with contextlib.suppress(AttributeError):
        found.add(site.getusersitepackages())
    roots = []
    for entry in sorted(found):
        with contextlib.suppress(OSError):
            roots.append(Path(entry).resolve())
    return tuple(roots)


def _mode(full: int) -> int:
    """``full`` minus the process umask (read without changing it where Linux allows)."""
    with contextlib.suppress(OSError, ValueError):
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("Umask:"):
                return full & ~int(line.split()[1], 8)
    mask = os.umask(0o022)
    os.umask(mask)
    return full & ~mask


def _write_fd(fd: int, data: str | bytes) -> None:
    raw = data.encode("utf-8") if isinstance(data, str) else data
    os.fchmod(fd, _mode(0o666))
    with os.fdopen(fd, "wb") as fh:
        fh.write(raw)
        fh.flush()
        os.fsync(fh.fileno())


def _carry_over(folder: Path, staging: Path, ours: set[str]) -> None:
    for entry in folder.iterdir():
        if entry.name in ours:
            continue
        if entry.is_dir() and not entry.is_symlink():
            raise InputError(
                f"{folder}: holds the folder {entry.name!r}; give --out a folder of its own "
                "(the report set replaces it as a whole)"
            )
        try:
            os.link(entry, staging / entry.name, follow_symlinks=False)
        except OSError:
            shutil.copy2(entry, staging / entry.name, follow_symlinks=False)


def _exchange(a: Path, b: Path) -> None:
    """Swap two folders atomically (Linux ``renameat2(RENAME_EXCHANGE)``), else nearly so."""
    libc = _libc()
    renameat2 = getattr(libc, "renameat2", None) if libc is not None else None
    if renameat2 is not None:
        result = renameat2(_AT_FDCWD, os.fsencode(a), _AT_FDCWD, os.fsencode(b), _RENAME_EXCHANGE)
        if result == 0:
            return
        error = ctypes.get_errno()
        if error not in (38, 22, 95):  # ENOSYS, EINVAL, EOPNOTSUPP: fall back below
            raise OSError(error, os.strerror(error), str(b))
    aside = a.with_name(a.name + "-old")
    os.rename(b, aside)
    os.rename(a, b)
    os.rename(aside, a)


@cache
def _libc() -> ctypes.CDLL | None:
    name = ctypes.util.find_library("c")
    if name is None:
        return None
    try:
        return ctypes.CDLL(name, use_errno=True)
    except OSError:
        return None


def _remove_stale_siblings(folder: Path) -> None:
    """Remove temporary siblings left by runs that were killed (their process is gone)."""
    prefix = f".{folder.name}{_TMP_MARK}"
    for entry in folder.parent.glob(f"{prefix}*"):
        pid = entry.name[len(prefix) :].split("-", 1)[0]
        if pid.isdigit() and not _alive(int(pid)):
            shutil.rmtree(entry, ignore_errors=True)


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _fsync_dir(path: Path) -> None:
    with contextlib.suppress(OSError):
        fd = os.open(path, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
