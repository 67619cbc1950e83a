"""Atomic file writes: every file synthgen writes appears whole or not at all.

Data goes to a temporary file in the target's folder (so the final rename never crosses a
file system), is flushed and ``fsync``-ed, and only then renamed over the target with
:func:`os.replace`, which is atomic on POSIX and Windows. A failure at any point (an
exception, a full disk, Ctrl-C) removes the temporary file and leaves whatever was at the
target untouched; a process killed outright (``kill -9``, power loss) may leave a hidden
``.NAME.*.tmp`` file next to the target, but never a damaged target.

:func:`check_output_path` checks a path before any long work starts (the folder exists and
is writable, the path is not a folder).
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

from synthgen.exceptions import PersistenceError

__all__ = ["atomic_open", "atomic_write", "check_output_path"]


def _default_mode() -> int:
    """Permission bits a plain ``open(path, "w")`` would give a new file (0o666 less umask)."""
    try:
        with open("/proc/self/status", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("Umask:"):
                    return 0o666 & ~int(line.split()[1], 8)
    except (OSError, ValueError):
        pass
    mask = os.umask(0o022)  # no portable way to read the umask without setting it
    os.umask(mask)
    return 0o666 & ~mask


def _fsync_folder(folder: str) -> None:
    """Make the rename itself durable (best effort: not every platform can open a folder)."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def check_output_path(path: str | os.PathLike[str], *, what: str = "output") -> Path:
    """Check that ``path`` can be written: its folder exists and is writable, and it is not a
    folder itself. Raises :class:`~synthgen.exceptions.PersistenceError` naming the problem.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> scratch = tempfile.TemporaryDirectory()  # removed after the example
    >>> folder = pathlib.Path(scratch.name)
    >>> check_output_path(folder / "out.csv") == folder / "out.csv"
    True
    >>> check_output_path(folder / "missing" / "out.csv")
    Traceback (most recent call last):
    ...
    synthgen.exceptions.PersistenceError: cannot write output ...: folder ... does not exist
    """
    target = Path(os.fspath(path))
    folder = target.parent if str(target.parent) else Path(".")
    where = os.fspath(path)
    if target.is_dir():
        raise PersistenceError(f"cannot write {what} {where!r}: it is a folder")
    if not folder.exists():
        raise PersistenceError(
            f"cannot write {what} {where!r}: folder {str(folder)!r} does not exist"
        )
    if not folder.is_dir():
        raise PersistenceError(f"cannot write {what} {where!r}: {str(folder)!r} is not a folder")
    if not os.access(folder, os.W_OK | os.X_OK):
        raise PersistenceError(
            f"cannot write {what} {where!r}: folder {str(folder)!r} is not writable"
        )
    return target


@contextlib.contextmanager
def atomic_open(
    path: str | os.PathLike[str], mode: str = "w", *, encoding: str | None = "utf-8"
) -> Iterator[IO[Any]]:
    """Open a temporary file next to ``path``; on a clean exit it replaces ``path``.

    Parameters
    ----------
    path : path-like
        The file to write. Its folder must exist.
    mode : {"w", "wb"}
        Text or binary.
    encoding : str, optional
        Text encoding (text mode only).

    Raises
    ------
    PersistenceError
        The file cannot be written (no folder, no permission, a full disk); the temporary
        file is removed and ``path`` is left as it was.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> scratch = tempfile.TemporaryDirectory()  # removed after the example
    >>> path = pathlib.Path(scratch.name) / "a.txt"
    >>> with atomic_open(path) as fh:
    ...     _ = fh.write("complete")
    >>> path.read_text()
    'complete'
    >>> try:
    ...     with atomic_open(path) as fh:
    ...         _ = fh.write("half")
    ...         raise KeyboardInterrupt
    ... except KeyboardInterrupt:
    ...     pass
    >>> path.read_text(), sorted(p.name for p in path.parent.iterdir())
    ('complete', ['a.txt'])
    """
    if mode not in ("w", "wb"):
        raise ValueError(f"atomic_open writes whole files: mode must be 'w' or 'wb', got {mode!r}")
    where = os.fspath(path)
    target = check_output_path(path, what="file")
    folder = os.fspath(target.parent) or "."
    try:
        existing_mode = os.stat(target).st_mode & 0o7777
    except OSError:
        existing_mode = _default_mode()
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=folder)
    except OSError as err:
        raise PersistenceError(f"cannot write {where!r}: {err.strerror or err}") from None
    try:
        with os.fdopen(fd, mode, encoding=encoding if mode == "w" else None) as fh:
            yield fh
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, existing_mode)
        os.replace(tmp, target)
    except BaseException as err:
        # Any failure, Ctrl-C included: drop the half-written copy, keep the old file.
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        if isinstance(err, OSError) and not isinstance(err, PersistenceError):
            raise PersistenceError(
                f"cannot write {where!r}: {err.strerror or err}; the file was left as it was"
            ) from None
        raise
    _fsync_folder(folder)


def atomic_write(path: str | os.PathLike[str], data: bytes | str) -> None:
    """Write ``data`` (bytes, or text as UTF-8) to ``path`` atomically.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> scratch = tempfile.TemporaryDirectory()  # removed after the example
    >>> path = pathlib.Path(scratch.name) / "b.bin"
    >>> atomic_write(path, b"\\x00\\x01")
    >>> path.read_bytes()
    b'\\x00\\x01'
    """
    if isinstance(data, str):
        with atomic_open(path, "w") as fh:
            fh.write(data)
    else:
        with atomic_open(path, "wb") as fh:
            fh.write(data)
