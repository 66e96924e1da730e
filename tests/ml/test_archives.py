"""Safe unpacking of data package archives, on real archives built in each test."""

import gzip
import io
import re
import stat
import struct
import tarfile
import zipfile
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Literal

import pytest

from mlapi.ml.archives import ExtractionLimits, unpacked
from mlapi.ml.errors import DatasetError

MIB = 1024 * 1024
DEFAULT_LIMITS = ExtractionLimits()
PACKAGE = {
    "datapackage.json": b'{"name": "iris", "resources": [{"path": "data/iris.csv"}]}',
    "data/iris.csv": b"sepal_length,species\n5.1,setosa\n4.9,setosa\n",
}


def _zip(path: Path, files: dict[str, bytes]) -> Path:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in files.items():
            archive.writestr(name, data)
    return path


def _tar(
    path: Path,
    files: dict[str, bytes],
    *,
    mode: Literal["w", "w:gz"] = "w:gz",
    tar_format: int = tarfile.PAX_FORMAT,
    first: Iterable[tarfile.TarInfo] = (),
) -> Path:
    """Write a tar of ``first`` (members without data: links, devices) then ``files``."""
    with tarfile.open(path, mode, format=tar_format) as archive:
        for entry in first:
            archive.addfile(entry)
        for name, data in files.items():
            entry = tarfile.TarInfo(name)
            entry.size = len(data)
            archive.addfile(entry, io.BytesIO(data))
    return path


def _special(name: str, kind: bytes, linkname: str = "") -> tarfile.TarInfo:
    entry = tarfile.TarInfo(name)
    entry.type = kind
    entry.linkname = linkname
    return entry


def _files(folder: Path) -> dict[str, bytes]:
    return {
        path.relative_to(folder).as_posix(): path.read_bytes()
        for path in folder.rglob("*")
        if path.is_file()
    }


def _assert_refused(
    archive: Path, parent: Path, message: str, limits: ExtractionLimits = DEFAULT_LIMITS
) -> None:
    """Check that unpacking fails with ``message`` and leaves nothing in ``parent``."""
    with (
        pytest.raises(DatasetError, match=re.escape(message)),
        unpacked(archive, limits, parent=parent),
    ):
        pytest.fail("the archive was unpacked")
    assert list(parent.iterdir()) == []


@pytest.fixture
def parent(tmp_path: Path) -> Path:
    """An empty folder to unpack into, apart from where the archives are written."""
    folder = tmp_path / "unpack"
    folder.mkdir()
    return folder


@pytest.fixture(scope="module")
def zip_bomb(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A zip of 4.5 MB holding one member of 1 GiB of zeros."""
    path = tmp_path_factory.mktemp("bomb") / "bomb.zip"
    zeros = bytes(MIB)
    with (
        zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as archive,
        archive.open("zeros.csv", "w") as member,
    ):
        for _ in range(1024):
            member.write(zeros)
    return path


@pytest.fixture(scope="module")
def crowded_zip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A zip of 100,000 empty members."""
    path = tmp_path_factory.mktemp("crowded") / "crowded.zip"
    content = io.BytesIO()  # zipfile seeks back after each member: cheap in memory only
    with zipfile.ZipFile(content, "w") as archive:
        for index in range(100_000):
            archive.writestr(f"{index}.csv", b"")
    path.write_bytes(content.getvalue())
    return path


BUILDERS: dict[str, Callable[[Path, dict[str, bytes]], Path]] = {
    "zip": _zip,
    "tar.gz": _tar,
    "tar": lambda path, files: _tar(path, files, mode="w"),
}


@pytest.mark.parametrize("build", BUILDERS.values(), ids=BUILDERS.keys())
def test_archive_unpacks_into_a_folder_removed_after_the_block(
    tmp_path: Path, parent: Path, build: Callable[[Path, dict[str, bytes]], Path]
) -> None:
    archive = build(tmp_path / "package.bin", PACKAGE)  # the content tells the format

    with unpacked(archive, parent=parent) as folder:
        assert folder.parent == parent
        assert _files(folder) == PACKAGE
        assert (folder / "data").is_dir()

    assert not folder.exists()
    assert list(parent.iterdir()) == []


def test_folder_is_removed_when_the_block_raises(tmp_path: Path, parent: Path) -> None:
    archive = _zip(tmp_path / "package.zip", PACKAGE)

    with pytest.raises(KeyError), unpacked(archive, parent=parent) as folder:
        raise KeyError(folder)

    assert list(parent.iterdir()) == []


def test_tar_made_from_a_folder_with_dot_names_unpacks(tmp_path: Path, parent: Path) -> None:
    source = tmp_path / "source"
    for name, data in PACKAGE.items():
        (source / name).parent.mkdir(parents=True, exist_ok=True)
        (source / name).write_bytes(data)
    archive = tmp_path / "package.tgz"
    with tarfile.open(archive, "w:gz") as writer:
        writer.add(source, arcname=".")  # as `tar czf package.tgz -C source .` does

    with unpacked(archive, parent=parent) as folder:
        assert _files(folder) == PACKAGE


def test_unpacked_files_are_private_whatever_mode_the_archive_gives(
    tmp_path: Path, parent: Path
) -> None:
    archive = tmp_path / "setuid.tar"
    with tarfile.open(archive, "w") as writer:
        entry = tarfile.TarInfo("run.csv")
        entry.mode = 0o6777
        writer.addfile(entry, io.BytesIO(b""))

    with unpacked(archive, parent=parent) as folder:
        assert stat.S_IMODE((folder / "run.csv").stat().st_mode) & ~0o600 == 0


UNSAFE_NAMES = [
    ("../evil.csv", "points outside the package"),
    ("data/../../evil.csv", "points outside the package"),
    ("{outside}", "is an absolute path"),
    ("C:\\evil.csv", "is an absolute path"),
    ("\\\\server\\share\\evil.csv", "is an absolute path"),
    ("data\\evil.csv", "uses backslashes as separators"),
]


@pytest.mark.parametrize("build", BUILDERS.values(), ids=BUILDERS.keys())
@pytest.mark.parametrize(("name", "problem"), UNSAFE_NAMES)
def test_member_named_outside_the_package_is_refused(
    tmp_path: Path,
    parent: Path,
    build: Callable[[Path, dict[str, bytes]], Path],
    name: str,
    problem: str,
) -> None:
    outside = tmp_path / "evil.csv"
    name = name.format(outside=outside)
    archive = build(tmp_path / "package.bin", {**PACKAGE, name: b"pwned"})

    _assert_refused(archive, parent, f"archive member {name!r} {problem}")
    assert not outside.exists()


@pytest.mark.parametrize(
    ("kind", "problem"),
    [
        (tarfile.SYMTYPE, "is a symbolic link; links are not allowed"),
        (tarfile.LNKTYPE, "is a hard link; links are not allowed"),
        (tarfile.CHRTYPE, "is a device; only files and folders are allowed"),
        (tarfile.BLKTYPE, "is a device; only files and folders are allowed"),
        (tarfile.FIFOTYPE, "is a FIFO; only files and folders are allowed"),
    ],
)
def test_tar_link_device_or_fifo_member_is_refused(
    tmp_path: Path, parent: Path, kind: bytes, problem: str
) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    # The classic escape: a link to a folder outside, then a file written through it.
    archive = _tar(
        tmp_path / "package.tar.gz",
        {"link/evil.csv": b"pwned"},
        first=[_special("link", kind, linkname=str(outside))],
    )

    _assert_refused(archive, parent, f"archive member 'link' {problem}")
    assert list(outside.iterdir()) == []


@pytest.mark.parametrize(
    ("file_type", "problem"),
    [
        (stat.S_IFLNK, "is a symbolic link; links are not allowed"),
        (stat.S_IFIFO, "is a FIFO; only files and folders are allowed"),
    ],
)
def test_zip_link_or_fifo_entry_is_refused(
    tmp_path: Path, parent: Path, file_type: int, problem: str
) -> None:
    archive = tmp_path / "package.zip"
    with zipfile.ZipFile(archive, "w") as writer:
        entry = zipfile.ZipInfo("link")
        entry.external_attr = (file_type | 0o777) << 16
        writer.writestr(entry, str(tmp_path))

    _assert_refused(archive, parent, f"archive member 'link' {problem}")


def test_repeated_member_name_is_refused(tmp_path: Path, parent: Path) -> None:
    archive = _tar(tmp_path / "package.tar.gz", {"data.csv": b"a\n1\n", "./data.csv": b"a\n2\n"})

    _assert_refused(archive, parent, "archive member './data.csv' appears more than once")


def test_zip_bomb_of_a_gibibyte_is_refused_before_writing(zip_bomb: Path, parent: Path) -> None:
    _assert_refused(zip_bomb, parent, "archive expands to over 536870912 bytes")


def test_tar_gz_bomb_is_refused_at_the_byte_cap(tmp_path: Path, parent: Path) -> None:
    archive = tmp_path / "bomb.tar.gz"
    with tarfile.open(archive, "w:gz", compresslevel=1) as writer:
        for index in range(64):
            entry = tarfile.TarInfo(f"zeros-{index}.csv")
            entry.size = MIB
            writer.addfile(entry, io.BytesIO(bytes(MIB)))
    limits = ExtractionLimits(max_total_bytes=8 * MIB, max_ratio=10_000)

    _assert_refused(archive, parent, f"archive expands to over {8 * MIB} bytes", limits)


@pytest.mark.parametrize("tar_format", [tarfile.GNU_FORMAT, tarfile.PAX_FORMAT], ids=["gnu", "pax"])
def test_tar_gz_with_a_huge_extended_header_is_refused_before_it_is_read(
    tmp_path: Path, parent: Path, tar_format: int
) -> None:
    # tarfile would read this 16 MiB name (or a 16 GiB one) into memory before listing it.
    archive = _tar(tmp_path / "header-bomb.tar.gz", {"x" * 16 * MIB: b""}, tar_format=tar_format)

    _assert_refused(archive, parent, "archive has a tar header of over 65536 bytes")


@pytest.mark.parametrize("tar_format", [tarfile.GNU_FORMAT, tarfile.PAX_FORMAT], ids=["gnu", "pax"])
def test_tar_with_long_member_names_unpacks(tmp_path: Path, parent: Path, tar_format: int) -> None:
    files = {f"{'d' * 200}/{'é' * 100}/{index}.csv": b"a\n1\n" for index in range(3)}
    archive = _tar(tmp_path / "package.tar.gz", files, tar_format=tar_format)

    with unpacked(archive, parent=parent) as folder:
        assert _files(folder) == files


def test_archive_expanding_past_the_ratio_is_refused(tmp_path: Path, parent: Path) -> None:
    archive = _zip(tmp_path / "package.zip", {"zeros.csv": bytes(8 * MIB)})
    size = archive.stat().st_size

    _assert_refused(archive, parent, f"archive expands to over 200 times its size of {size} bytes")


def test_zip_of_100000_members_is_refused(crowded_zip: Path, parent: Path) -> None:
    _assert_refused(crowded_zip, parent, "archive has over 1000 members")


def test_tar_member_count_is_refused_before_reading_further(tmp_path: Path, parent: Path) -> None:
    archive = _tar(
        tmp_path / "crowded.tar", {f"{index}.csv": b"x" for index in range(1500)}, mode="w"
    )
    # Cut inside member 1200 (a header and a data block each): only a reader that goes
    # that far can notice.
    with archive.open("r+b") as stream:
        stream.truncate(1200 * 1024 + 600)
    with pytest.raises(tarfile.ReadError), tarfile.open(archive) as reader:
        reader.getmembers()

    _assert_refused(archive, parent, "archive has over 1000 members")


def test_zip_understating_a_size_is_refused_without_writing_past_it(
    tmp_path: Path, parent: Path
) -> None:
    archive = _zip(tmp_path / "liar.zip", {"data.csv": b"5.1,setosa\n" * 100_000})
    content = bytearray(archive.read_bytes())
    # Uncompressed size: at offset 22 of the local header, 24 of the central directory's.
    struct.pack_into("<I", content, content.find(b"PK\x03\x04") + 22, 100)
    struct.pack_into("<I", content, content.find(b"PK\x01\x02") + 24, 100)
    archive.write_bytes(content)

    # zipfile stops at the declared size, and the checksum then fails.
    _assert_refused(
        archive,
        parent,
        "cannot unpack archive 'liar.zip': Bad CRC-32 for file 'data.csv'",
        ExtractionLimits(max_total_bytes=1000),
    )


def test_truncated_tar_gz_is_refused(tmp_path: Path, parent: Path) -> None:
    rows = b"".join(b"%d,%d\n" % (index, index * index) for index in range(100_000))
    archive = _tar(tmp_path / "package.tar.gz", {"data.csv": rows})
    archive.write_bytes(archive.read_bytes()[: archive.stat().st_size // 2])

    _assert_refused(
        archive,
        parent,
        "cannot unpack archive 'package.tar.gz': Compressed file ended before the "
        "end-of-stream marker was reached",
    )


def test_truncated_zip_is_refused(tmp_path: Path, parent: Path) -> None:
    archive = _zip(tmp_path / "package.zip", PACKAGE)
    archive.write_bytes(archive.read_bytes()[:-30])

    _assert_refused(archive, parent, "zip archive is truncated: its central directory is missing")


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"sepal_length,species\n5.1,setosa\n", "not a .zip or .tar.gz archive"),
        (b"", "not a .zip or .tar.gz archive"),
        (gzip.compress(b"a,b\n" * 1000), "cannot unpack archive 'package.bin': invalid header"),
    ],
    ids=["csv", "empty", "gzip-of-csv"],
)
def test_file_that_is_no_archive_is_refused(
    tmp_path: Path, parent: Path, content: bytes, message: str
) -> None:
    archive = tmp_path / "package.bin"
    archive.write_bytes(content)

    _assert_refused(archive, parent, message)
