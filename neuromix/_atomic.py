"""Write files so that a failure never damages what the user had.

Every file neuromix writes (models, NWB files, latents appended to NWB files, sweep
records, image classifiers) goes through :class:`Transaction` (or :func:`write_atomic`,
its one-file form):

1. before anything is written, a read-only destination file or folder is refused
   (:func:`check_writable`), with a message naming it and saying what to do;
2. each file is written to a temporary file beside its destination, named
   ``.<name>.<host>-<pid>.<random>.tmp[<suffix>]`` (hidden, recognisable, and naming
   the process that wrote it);
3. once every file is written, each temporary file is flushed to disk (``fsync``) and
   moved into place with :func:`os.replace` -- or, when an existing file must not be
   replaced, with a hard link, which never replaces one -- and the folder is flushed
   (where the OS allows), so that a power loss cannot leave a renamed but empty file;
4. when several files are moved and one move fails, the files already moved are put
   back (their old versions are kept under a hard link until all moves succeed);
5. on any error (including ``KeyboardInterrupt``), the temporary files are removed and
   the error propagates; a full disk (``ENOSPC``, ``EDQUOT``) is re-raised as the same
   exception type and ``errno`` with a message naming the file, what was being written
   and how many bytes, and so is a permission error (or a read-only file system), with
   what to do.

A process killed with SIGKILL (or a power loss) cannot remove its temporary file. The
next write to the same destination removes such leftovers: temporary files of that
destination written on this host by a process that no longer exists. Other files,
including a live process's temporary files, are never touched. Some leftovers stay: a
killed process's temporary file on Windows (where no process is checked) or when its
process id has been reused, or a process on another host sharing the folder. They are
hidden files that neuromix never reads and that can be deleted by hand.

This module imports nothing from neuromix, so that every layer can use it.
"""

from __future__ import annotations

import errno
import os
import re
import socket
import uuid
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = ["Transaction", "check_writable", "remove_stale", "write_atomic"]

#: errno values of a full disk (no space left, quota exceeded).
NO_SPACE = frozenset({errno.ENOSPC, getattr(errno, "EDQUOT", errno.ENOSPC)})

_ELSEWHERE = "or write to another folder"


def _host() -> str:
    return f"{zlib.crc32(socket.gethostname().encode()) & 0xFFFFFFFF:08x}"


def _tag() -> str:
    """``<host>-<pid>`` of this process (computed on every call: a fork changes the pid)."""
    return f"{_host()}-{os.getpid()}"


def _pattern(name: str) -> re.Pattern:
    """Names of the temporary files (and kept old versions) of a destination ``name``."""
    return re.compile(
        rf"\.{re.escape(name)}\.(?P<host>[0-9a-f]{{8}})-(?P<pid>\d+)\.[a-z0-9_]+\.tmp(\.\w+)?"
    )


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # e.g. PermissionError: another user's process
        return True
    return True


def remove_stale(path: str | os.PathLike) -> list[Path]:
    """Remove the temporary files a killed writer left beside ``path``; return them.

    Only files named like this module's temporary files for ``path``, written on this
    host by a process that no longer exists, are removed. Nothing is removed on Windows,
    where checking for a process could end it. Errors are ignored: a leftover is only a
    hidden file, never what the user had.
    """
    path = Path(path)
    if os.name != "posix":
        return []
    pattern, host, removed = _pattern(path.name), _host(), []
    try:
        candidates = list(path.parent.iterdir())
    except OSError:
        return []
    for candidate in candidates:
        match = pattern.fullmatch(candidate.name)
        if match is None or match["host"] != host:
            continue
        pid = int(match["pid"])
        if pid == os.getpid() or _alive(pid):
            continue
        try:
            candidate.unlink()
        except OSError:
            continue
        removed.append(candidate)
    return removed


def _writable(path: Path) -> bool:
    # os.access says yes to root for every file; a file or folder without any write
    # permission bit is read-only by its owner's choice, which root is held to as well.
    return os.access(path, os.W_OK) and bool(path.stat().st_mode & 0o222)


def check_writable(
    path: str | os.PathLike, *, label: str = "", elsewhere: str = _ELSEWHERE
) -> None:
    """PermissionError if ``path`` exists and is read-only, or its folder is read-only.

    ``label`` prefixes the message (e.g. ``"subject 'Barat': "``); ``elsewhere`` says
    how to write somewhere else (e.g. ``"or pass out_dir=<another folder>"``).
    """
    path = Path(path)
    folder = path.parent
    checks = (
        (path, path.exists(), f"{path} is read-only, so it is left as it is; make it "
         "writable (chmod u+w) to replace it"),
        (folder, folder.is_dir(), f"the folder {folder} is read-only: cannot write "
         f"{path.name} there; make the folder writable (chmod u+w)"),
    )  # fmt: skip
    for target, exists, problem in checks:
        if exists and not _writable(target):
            raise PermissionError(errno.EACCES, f"{label}{problem}, {elsewhere}", str(target))


def _size(path: Path | None) -> int:
    try:
        return path.stat().st_size if path is not None else 0
    except OSError:
        return 0


@dataclass
class _Staged:
    path: Path
    temporary: Path | None
    overwrite: bool
    what: str
    size: int | None
    label: str
    elsewhere: str
    backup: Path | None = None
    moved: bool = False
    existed: bool = False


def _explain(err: OSError, staged: _Staged, doing: str) -> OSError | None:
    """The same error, re-raised with a message naming the file; None to keep ``err``."""
    path, label = staged.path, staged.label
    state = "is unchanged" if path.exists() else "was not created"
    if err.errno in NO_SPACE:
        written = _size(staged.temporary)
        expected = f" of at least {staged.size} bytes" if staged.size else ""
        message = (
            f"{label}no space left on the device of {path.parent} while {doing} "
            f"{staged.what}: {written} bytes of the file{expected} were written to a "
            f"temporary file, now removed; {path} {state}. Free some space and retry, "
            f"{staged.elsewhere}"
        )
    elif isinstance(err, PermissionError) or err.errno == errno.EROFS:
        reason = "permission denied" if isinstance(err, PermissionError) else "read-only"
        message = (
            f"{label}{reason} while {doing} {staged.what} ({err.strerror}; "
            f"{err.filename}); {path} {state}. Make {path.parent} (and {path.name}, if it "
            f"exists) writable, {staged.elsewhere}"
        )
    else:
        return None
    return type(err)(err.errno, message, str(path))


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDWR if os.name == "nt" else os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _fsync_folder(folder: Path) -> None:
    """Flush a folder's entries (the renames) to disk; a no-op where the OS cannot."""
    if os.name != "posix":
        return
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:  # some file systems cannot fsync a folder; the data file was flushed
        pass
    finally:
        os.close(fd)


def _create(path: Path, suffix: str) -> Path:
    """A new empty temporary file for ``path``, with the mode ``open`` gives new files.

    Like :func:`tempfile.mkstemp`, but the mode is ``0o666`` less the umask (as for any
    new file), so a file that replaces nothing gets the usual permissions.
    """
    flags = os.O_RDWR | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0)
    for _ in range(100):
        temporary = path.with_name(f".{path.name}.{_tag()}.{uuid.uuid4().hex[:8]}.tmp{suffix}")
        try:
            fd = os.open(temporary, flags, 0o666)
        except FileExistsError:  # pragma: no cover - 32 random bits
            continue
        os.close(fd)
        return temporary
    raise FileExistsError(errno.EEXIST, "no free temporary name", str(path))  # pragma: no cover


def _exists(path: Path, label: str) -> FileExistsError:
    """The error of an existing destination that may not be replaced."""
    return FileExistsError(
        errno.EEXIST, f"{label}{path} exists; pass overwrite=True to replace it", str(path)
    )


def _link_name(path: Path) -> Path:
    """A free name for a hard link keeping the old version of ``path`` during a commit."""
    return path.with_name(f".{path.name}.{_tag()}.{uuid.uuid4().hex[:8]}.tmp")


class Transaction:
    """Write several files; move all of them into place, or none.

    Use as a context manager: :meth:`write` each file, then :meth:`commit`. Leaving the
    ``with`` block without committing (an error) removes every temporary file.

    Examples
    --------
    >>> import tempfile
    >>> from pathlib import Path
    >>> folder = Path(tempfile.mkdtemp())
    >>> with Transaction() as transaction:
    ...     _ = transaction.write(folder / "a.txt", lambda tmp: tmp.write_text("a"))
    ...     _ = transaction.write(folder / "b.txt", lambda tmp: tmp.write_text("b"))
    ...     transaction.commit()
    >>> sorted(p.name for p in folder.iterdir())
    ['a.txt', 'b.txt']
    """

    def __init__(self) -> None:
        self._staged: list[_Staged] = []
        self._committed = False

    def __enter__(self) -> Transaction:
        return self

    def __exit__(self, *exc) -> None:
        self._discard()

    def write(
        self,
        path: str | os.PathLike,
        write: Callable[[Path], object],
        *,
        overwrite: bool = False,
        what: str | None = None,
        size: int | None = None,
        suffix: str = "",
        label: str = "",
        elsewhere: str = _ELSEWHERE,
    ) -> Path:
        """Call ``write(temporary)`` on a new temporary file beside ``path``; return it.

        Parameters
        ----------
        path : path-like
            The destination; its folder must exist.
        write : callable
            Writes the whole file to the path it is given (an empty file exists there).
        overwrite : bool, default False
            Replace an existing ``path`` on :meth:`commit`; otherwise an existing
            ``path`` is a FileExistsError (now and at commit).
        what : str, optional
            What is written, for error messages ("the model", "the latents of ...").
        size : int, optional
            A lower bound of the file's size in bytes, for the message of a full disk.
        suffix : str, default ""
            Ending of the temporary name after ``.tmp`` (e.g. ``".nwb"``).
        label : str, default ""
            Prefix of every message (e.g. ``"subject 'Barat': "``).
        elsewhere : str
            How to write somewhere else, ending the messages of a full disk or a
            read-only file or folder.
        """
        if self._committed:
            raise RuntimeError("this transaction was committed already")
        path = Path(path)
        if path.exists() and not overwrite:
            raise _exists(path, label)
        check_writable(path, label=label, elsewhere=elsewhere)
        remove_stale(path)
        staged = _Staged(
            path=path,
            temporary=None,
            overwrite=overwrite,
            what=what or f"the file {path.name}",
            size=size,
            label=label,
            elsewhere=elsewhere,
        )
        try:
            staged.temporary = _create(path, suffix)
        except OSError as err:
            raise (_explain(err, staged, "creating a temporary file for") or err) from err
        self._staged.append(staged)  # from here on, removed on any error
        try:
            write(staged.temporary)
        except OSError as err:
            raise (_explain(err, staged, "writing") or err) from err
        return staged.temporary

    def commit(self) -> None:
        """Flush every temporary file to disk and move each into place, or none.

        Each destination keeps its mode bits (a new one gets the usual ``0o666`` less
        the umask, which the temporary file was created with). When one move fails, the
        destinations already replaced get their old version back (kept under a hard
        link; on file systems without hard links they cannot be, and stay replaced) and
        the error propagates.
        """
        if self._committed:
            raise RuntimeError("this transaction was committed already")
        for staged in self._staged:
            try:
                _fsync(staged.temporary)
                if staged.path.exists():
                    os.chmod(staged.temporary, staged.path.stat().st_mode & 0o7777)
            except OSError as err:
                raise (_explain(err, staged, "flushing to disk") or err) from err
        try:
            for staged in self._staged:
                self._move(staged, keep_old=len(self._staged) > 1)
        except BaseException:
            self._roll_back()
            raise
        self._committed = True
        for folder in dict.fromkeys(s.path.parent for s in self._staged):
            _fsync_folder(folder)

    def _move(self, staged: _Staged, *, keep_old: bool) -> None:
        path, label = staged.path, staged.label
        staged.existed = path.exists()
        if staged.overwrite:
            if keep_old and staged.existed:
                backup = _link_name(path)
                try:
                    os.link(path, backup)
                    staged.backup = backup
                except OSError:  # no hard links here: this one cannot be put back
                    pass
            os.replace(staged.temporary, path)
            staged.moved = True
            return
        try:
            # A hard link never replaces an existing file: no race with another writer
            # between the check in write() and the move.
            os.link(staged.temporary, path)
        except FileExistsError:
            raise _exists(path, label) from None
        except OSError:
            # File systems without hard links: check, then move.
            if path.exists():
                raise _exists(path, label) from None
            os.replace(staged.temporary, path)
        staged.moved = True
        staged.temporary.unlink(missing_ok=True)

    def _roll_back(self) -> None:
        for staged in reversed(self._staged):
            if not staged.moved:
                continue
            try:
                if staged.backup is not None:
                    os.replace(staged.backup, staged.path)
                    staged.backup = None
                elif not staged.existed:
                    staged.path.unlink(missing_ok=True)
            except OSError:  # pragma: no cover - nothing more can be done
                pass

    def _discard(self) -> None:
        for staged in self._staged:
            for leftover in (staged.temporary, staged.backup):
                if leftover is not None:
                    try:
                        leftover.unlink(missing_ok=True)
                    except OSError:  # pragma: no cover - e.g. the folder became read-only
                        pass


def write_atomic(path: str | os.PathLike, write: Callable[[Path], object], **options: Any) -> Path:
    """Call ``write(tmp_path)`` on a temporary file beside ``path``, then move it into place.

    Refuses to replace an existing ``path`` unless ``overwrite=True``. The keyword
    ``options`` (``overwrite``, ``what``, ``size``, ``suffix``, ``label``,
    ``elsewhere``) and their defaults are those of :meth:`Transaction.write`.

    Examples
    --------
    >>> import tempfile
    >>> from pathlib import Path
    >>> path = Path(tempfile.mkdtemp()) / "notes.txt"
    >>> write_atomic(path, lambda tmp: tmp.write_text("hello")).read_text()
    'hello'
    """
    path = Path(path)
    with Transaction() as transaction:
        transaction.write(path, write, **options)
        transaction.commit()
    return path
