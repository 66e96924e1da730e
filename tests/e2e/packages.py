"""Data packages for the end-to-end tests: real ones packed by the CLI, hostile ones by hand."""

import csv
import io
import json
import os
import random
import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path

from sklearn.datasets import load_wine

#: Wine's classes, by scikit-learn's class index: the cultivars of the original study.
CULTIVARS = ("barolo", "grignolino", "barbera")
#: The columns of the pets CSV, the target last.
PETS_HEADER = ["weight", "colour", "age", "kind"]


def pack(source: Path, target: str, output: Path) -> Path:
    """Run ``mlapi dataset pack`` on a CSV file, as a user would, and return the package."""
    env = {name: value for name, value in os.environ.items() if not name.startswith("MLAPI_")}
    command = [sys.executable, "-m", "mlapi", "dataset", "pack", str(source)]
    command += ["--target", target, "-o", str(output)]
    finished = subprocess.run(command, env=env, cwd=output.parent, capture_output=True, check=False)
    assert finished.returncode == 0, finished.stderr.decode()
    return output


def write_wine_csv(path: Path) -> Path:
    """Write scikit-learn's wine data (13 measurements) with the cultivar named per row."""
    wine = load_wine()
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow([*wine.feature_names, "cultivar"])
        for values, label in zip(wine.data, wine.target, strict=True):
            writer.writerow([*map(float, values), CULTIVARS[label]])
    return path


def write_pets_csv(path: Path, rows: int = 200) -> Path:
    """Write cats and dogs told apart by weight and colour, a tenth of each left blank."""
    chance = random.Random(7)  # noqa: S311 - test data, not secrets
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(PETS_HEADER)
        for index in range(rows):
            kind = "cat" if index % 2 else "dog"
            low, high = (2.5, 6.5) if kind == "cat" else (12.0, 40.0)
            colours = ["ginger", "tabby", "white"] if kind == "cat" else ["black", "brown", "white"]
            weight = f"{chance.uniform(low, high):.1f}" if chance.random() > 0.1 else ""
            colour = chance.choice(colours) if chance.random() > 0.1 else ""
            writer.writerow([weight, colour, chance.randint(1, 15), kind])
    return path


def zip_of(members: dict[str, bytes]) -> bytes:
    """A zip archive holding ``members`` under exactly the names given."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def tar_gz_of(members: list[tuple[tarfile.TarInfo, bytes]]) -> bytes:
    """A .tar.gz archive of headers as given (links included) and their data."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        for info, data in members:
            info.size = len(data) if info.isreg() else 0
            archive.addfile(info, io.BytesIO(data) if info.isreg() else None)
    return buffer.getvalue()


def tar_member(name: str, kind: bytes = tarfile.REGTYPE, linkname: str = "") -> tarfile.TarInfo:
    """A tar header: a regular file, or a link of ``kind`` pointing at ``linkname``."""
    info = tarfile.TarInfo(name)
    info.type, info.linkname, info.mode = kind, linkname, 0o644
    return info


def package_members(rows: list[list[str]]) -> dict[str, bytes]:
    """The files of a pets package whose descriptor is written by hand, rows as given.

    The CLI would refuse to pack a bad CSV; a hostile server has no such scruples.
    """
    fields = [
        {"name": "weight", "type": "number"},
        {"name": "colour", "type": "string"},
        {"name": "age", "type": "integer"},
        {"name": "kind", "type": "string"},
    ]
    descriptor = {
        "name": "pets",
        "resources": [
            {"name": "pets", "path": "pets.csv", "target": "kind", "schema": {"fields": fields}}
        ],
    }
    text = io.StringIO()
    csv.writer(text).writerows([PETS_HEADER, *rows])
    return {
        "datapackage.json": json.dumps(descriptor).encode(),
        "pets.csv": text.getvalue().encode(),
    }


def package_zip(rows: list[list[str]]) -> bytes:
    """A zip of a hand-written pets package (see :func:`package_members`)."""
    return zip_of(package_members(rows))


def zip_bomb(size: int) -> bytes:
    """A zip whose one member expands to ``size`` zero bytes, compressed as it is written."""
    buffer = io.BytesIO()
    block = bytes(1024 * 1024)
    with (
        zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=1) as archive,
        archive.open("zeros.csv", "w", force_zip64=True) as member,
    ):
        for _ in range(size // len(block)):
            member.write(block)
    return buffer.getvalue()


def many_members_zip(count: int) -> bytes:
    """A zip of ``count`` one-byte files."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for index in range(count):
            archive.writestr(zipfile.ZipInfo(f"{index}.csv"), b"x")
    return buffer.getvalue()
