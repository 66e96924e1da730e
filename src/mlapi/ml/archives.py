"""Safe unpacking of a downloaded data package archive: .zip, .tar.gz (.tgz) or plain .tar.

The archive comes from the internet, so nothing in it is trusted. Every member is checked
before anything is written: its name must stay inside the extraction folder, it must be a
regular file or a folder (never a link or a device), names may not repeat, and the number
of members and their declared sizes are capped. The bytes actually decompressed are
counted again while writing, so a bomb stops at the cap instead of filling the disk.
"""

import contextlib
import functools
import gzip
import io
import os
import re
import shutil
import stat
import tarfile
import tempfile
import zipfile
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

from mlapi.ml.errors import DatasetError

__all__ = ["ExtractionLimits", "unpacked"]

_CHUNK_BYTES = 1024 * 1024
# A member's tar headers; a long name, or pax records, take a few kilobytes.
_MAX_HEADER_BYTES = 64 * 1024
_GZIP_MAGIC = b"\x1f\x8b"
_ZIP_MAGIC = b"PK\x03\x04"
_DRIVE = re.compile(r"[A-Za-z]:")
_UNREADABLE = (
    zipfile.BadZipFile,
    tarfile.TarError,
    zlib.error,
    EOFError,
    OSError,
    NotImplementedError,  # a zip compression method this Python cannot read
    UnicodeError,  # a zip member name flagged UTF-8 that is not
)
# What a member is, by the file type in a zip entry's Unix mode or in a tar header.
_ZIP_KINDS = {
    stat.S_IFLNK: "symbolic link",
    stat.S_IFCHR: "device",
    stat.S_IFBLK: "device",
    stat.S_IFIFO: "FIFO",
    stat.S_IFSOCK: "socket",
}
_TAR_KINDS = {
    tarfile.SYMTYPE: "symbolic link",
    tarfile.LNKTYPE: "hard link",
    tarfile.CHRTYPE: "device",
    tarfile.BLKTYPE: "device",
    tarfile.FIFOTYPE: "FIFO",
}


@dataclass(frozen=True)
class ExtractionLimits:
    """Caps on what an archive may unpack to; an archive past any of them is refused.

    Attributes:
        max_members: Files and folders the archive lists.
        max_total_bytes: Uncompressed bytes of all files together.
        max_ratio: Uncompressed bytes per byte of the archive file, over the whole archive.
    """

    max_members: int = 1000
    max_total_bytes: int = 1024**3 // 2
    max_ratio: float = 200.0


@contextlib.contextmanager
def unpacked(
    archive: Path, limits: ExtractionLimits = ExtractionLimits(), *, parent: Path | None = None
) -> Iterator[Path]:
    """Unpack an archive into a fresh temporary folder, and remove the folder afterwards.

    The format is told from the content, not the name. The folder is removed when the
    ``with`` block ends, whether it ends normally or by an exception, and at once if
    unpacking fails: nothing is left behind and nothing is ever written outside it.

    Args:
        archive: A .zip, .tar.gz or .tar file, untrusted.
        limits: Caps on members and sizes.
        parent: Folder to create the temporary folder in; the system's temporary folder
            if None.

    Yields:
        The folder holding the archive's files and folders. Files are readable and
        writable by their owner only, whatever modes the archive gave them.

    Raises:
        DatasetError: If the archive is not a zip or tar, is corrupt or truncated, or is
            refused: a member name outside the folder, a link or device, a repeated name,
            too many members, or too many bytes in all or for the archive's size.
    """
    folder = Path(tempfile.mkdtemp(prefix="dataset-", dir=parent))
    try:
        try:
            _extract(archive, folder, limits)
        except _UNREADABLE as error:
            reason = str(error) or type(error).__name__
            raise DatasetError(f"cannot unpack archive {archive.name!r}: {reason}") from error
        yield folder
    finally:
        shutil.rmtree(folder)


@dataclass(frozen=True)
class _Member:
    parts: tuple[str, ...]
    """Path under the extraction folder, checked to stay inside it."""
    is_dir: bool
    open_data: Callable[[], IO[bytes]]


@dataclass
class _Meter:
    """A running total of uncompressed bytes, refused past the limits."""

    limits: ExtractionLimits
    archive_bytes: int
    total: int = 0

    def add(self, size: int) -> None:
        self.total += size
        if self.total > self.limits.max_total_bytes:
            raise DatasetError(f"archive expands to over {self.limits.max_total_bytes} bytes")
        if self.total > self.limits.max_ratio * self.archive_bytes:
            raise DatasetError(
                f"archive expands to over {self.limits.max_ratio:g} times"
                f" its size of {self.archive_bytes} bytes"
            )


@dataclass
class _Inventory:
    """The members of an archive, each checked as it is listed, before any is written."""

    limits: ExtractionLimits
    declared: _Meter
    members: list[_Member] = field(default_factory=list)
    listed: int = 0
    names: set[tuple[str, ...]] = field(default_factory=set)

    def add(
        self,
        name: str,
        size: int,
        is_dir: bool,
        open_data: Callable[[], IO[bytes]],
        problem: str | None = None,
    ) -> None:
        self.listed += 1
        if self.listed > self.limits.max_members:
            raise DatasetError(f"archive has over {self.limits.max_members} members")
        parts = _safe_parts(name)
        if problem is None and parts in self.names:
            problem = "appears more than once"
        if problem is None and not parts and not is_dir:
            problem = "has no file name"
        if problem is not None:
            raise DatasetError(f"archive member {name!r} {problem}")
        if not parts:  # "./", the package folder itself
            return
        self.names.add(parts)
        if not is_dir:
            self.declared.add(size)
        self.members.append(_Member(parts, is_dir, open_data))


def _safe_parts(name: str) -> tuple[str, ...]:
    if "\0" in name:
        problem = "contains a NUL character"
    elif name.startswith(("/", "\\")) or _DRIVE.match(name):
        problem = "is an absolute path"
    elif "\\" in name:
        problem = "uses backslashes as separators"
    elif ".." in name.split("/"):
        problem = "points outside the package"
    else:
        return tuple(part for part in name.split("/") if part not in {"", "."})
    raise DatasetError(f"archive member {name!r} {problem}")


def _kind_problem(kind: str) -> str:
    if kind.endswith("link"):
        return f"is a {kind}; links are not allowed"
    return f"is a {kind}; only files and folders are allowed"


def _extract(archive: Path, folder: Path, limits: ExtractionLimits) -> None:
    archive_bytes = archive.stat().st_size
    inventory = _Inventory(limits, _Meter(limits, archive_bytes))
    with _listed(archive, inventory):
        written = _Meter(limits, archive_bytes)
        for member in inventory.members:
            # Folders get default modes: the temporary folder above them is private.
            target = folder.joinpath(*member.parts)
            if member.is_dir:
                target.mkdir(parents=True, exist_ok=True)
                continue
            target.parent.mkdir(parents=True, exist_ok=True)
            # "x" never follows or overwrites anything already there.
            with member.open_data() as source, open(target, "xb", opener=_owner_only) as output:
                while chunk := source.read(_CHUNK_BYTES):
                    written.add(len(chunk))
                    output.write(chunk)


@contextlib.contextmanager
def _listed(archive: Path, inventory: _Inventory) -> Iterator[None]:
    """Check the archive's members into ``inventory``, keeping it open to read their data."""
    with archive.open("rb") as stream:
        magic = stream.read(len(_ZIP_MAGIC))
    gzipped = magic.startswith(_GZIP_MAGIC)
    # Tar before zip: a plain tar whose last member is a zip would pass for that zip.
    if gzipped or _is_plain_tar(archive):
        with gzip.open(archive) if gzipped else archive.open("rb") as stream:
            headers = _HeaderReads(stream)
            with tarfile.open(fileobj=headers, mode="r:") as tar:
                _list_tar(tar, headers, inventory)
                yield
    elif zipfile.is_zipfile(archive):
        with zipfile.ZipFile(archive) as zip_archive:
            _list_zip(zip_archive, inventory)
            yield
    elif magic == _ZIP_MAGIC:
        raise DatasetError("zip archive is truncated: its central directory is missing")
    else:
        raise DatasetError("not a .zip or .tar.gz archive")


def _is_plain_tar(archive: Path) -> bool:
    with (
        archive.open("rb") as stream,
        contextlib.suppress(tarfile.ReadError),
        tarfile.open(fileobj=_HeaderReads(stream), mode="r:"),
    ):
        return True
    return False


def _list_zip(archive: zipfile.ZipFile, inventory: _Inventory) -> None:
    for entry in archive.infolist():
        file_type = stat.S_IFMT(entry.external_attr >> 16)
        problem = None
        if file_type not in {0, stat.S_IFREG, stat.S_IFDIR}:
            problem = _kind_problem(_ZIP_KINDS.get(file_type, "special file"))
        elif entry.flag_bits & 0x1:
            problem = "is encrypted"
        is_dir = entry.is_dir() or file_type == stat.S_IFDIR
        # The raw name: zipfile cuts the parsed one at a NUL character.
        opener = functools.partial(archive.open, entry)
        inventory.add(entry.orig_filename, entry.file_size, is_dir, opener, problem)


def _list_tar(archive: tarfile.TarFile, headers: "_HeaderReads", inventory: _Inventory) -> None:
    # One header at a time, so a tar of a million members is refused after a thousand.
    while (entry := archive.next()) is not None:
        problem = None
        if not (entry.isreg() or entry.isdir()):
            problem = _kind_problem(_TAR_KINDS.get(entry.type, "special file"))
        opener = functools.partial(_tar_data, archive, entry)
        inventory.add(entry.name, entry.size, entry.isdir(), opener, problem)
        headers.allowance = _MAX_HEADER_BYTES
    headers.allowance = None  # members' data: sizes checked, writes metered


class _HeaderReads(io.RawIOBase):
    """A tar's stream, refusing reads past an allowance while headers are listed.

    tarfile reads a member's extended headers (long names, pax records, sparse maps) into
    memory whole, and before the member is listed: a small gzip stream could declare
    gigabytes of them. The allowance is renewed for each member.
    """

    def __init__(self, stream: io.BufferedIOBase) -> None:
        self._stream = stream
        self.allowance: int | None = _MAX_HEADER_BYTES

    def read(self, size: int = -1, /) -> bytes:
        if self.allowance is not None:
            if not 0 <= size <= self.allowance:
                raise DatasetError(f"archive has a tar header of over {_MAX_HEADER_BYTES} bytes")
            self.allowance -= size
        return self._stream.read(size)

    def seek(self, offset: int, whence: int = os.SEEK_SET, /) -> int:
        return self._stream.seek(offset, whence)

    def tell(self) -> int:
        return self._stream.tell()


def _tar_data(archive: tarfile.TarFile, entry: tarfile.TarInfo) -> IO[bytes]:
    data = archive.extractfile(entry)
    if data is None:  # only links and special files have none, and those are refused
        raise DatasetError(f"archive member {entry.name!r} has no data")
    return data


def _owner_only(path: str, flags: int) -> int:
    return os.open(path, flags, 0o600)
