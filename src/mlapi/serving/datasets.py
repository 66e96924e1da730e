"""The data sets training jobs train on: bundled, fetched from a URL, or named.

A job names its data set by URL (a ``.zip`` or ``.tar.gz`` data package, and optionally
its SHA-256) or by name: a bundled data set (``iris``), or one fetched before, which is
kept in the cache folder under the name its descriptor gives. Everything configurable
about fetching (allowed networks, sizes, timeouts, extraction caps) comes from the
settings; the guarded download and extraction themselves are :mod:`mlapi.ml`'s.

A package that fails (refused download, unsafe archive, invalid CSV) leaves nothing
behind: its file is removed unless a name already refers to it.
"""

import contextlib
import json
import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from mlapi.ml import datasets
from mlapi.ml.datasets import Dataset
from mlapi.ml.download import download, file_sha256
from mlapi.ml.errors import DatasetError, FieldError, Input, InvalidInputError
from mlapi.serving.records import DatasetSource
from mlapi.settings import Settings

#: Told the bytes downloaded so far, and the total if the server said it.
DownloadProgress = Callable[[int, int | None], None]


class Datasets:
    """Resolves, fetches and reads data sets for training, as the settings allow.

    Args:
        settings: Where packages are kept (under ``cache_dir``), the default data set,
            and every download and extraction limit.
    """

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.folder = settings.cache_dir / "datasets"

    def resolve(self, choice: DatasetSource | str | None) -> DatasetSource:
        """Say which data set a job asking for ``choice`` trains on, refusing what cannot be.

        Args:
            choice: A source, a data set's name, or None for the configured default.

        Returns:
            The source, naming a known data set or an allowed URL.

        Raises:
            InvalidInputError: If no data set has that name, or the URL's scheme is not
                allowed (``file`` is, only where the settings say so).
        """
        if choice is None:
            choice = self.settings.default_dataset
        if isinstance(choice, str):
            choice = DatasetSource(url=choice) if "://" in choice else DatasetSource(name=choice)
        if choice.name is not None and not self.known(choice.name):
            raise _invalid(
                ("name",), f"no data set is named {choice.name!r}: give its url", "unknown"
            )
        if choice.url is not None:
            try:
                parts = urlsplit(choice.url)
                scheme, _ = parts.scheme.lower(), parts.hostname  # the host must parse too
            except ValueError as error:
                raise _invalid(("url",), f"is not a valid URL: {error}", "url") from error
            allowed = {"http", "https"} | ({"file"} if self.settings.dataset_allow_file else set())
            if scheme not in allowed:
                raise _invalid(("url",), f"must be one of {sorted(allowed)} URLs", "scheme")
        return choice

    def known(self, name: str) -> bool:
        """Say whether a name is a bundled data set or one fetched before."""
        return name in datasets.BUNDLED or self._index(name).is_file()

    def load(
        self, source: DatasetSource, progress: DownloadProgress | None = None
    ) -> tuple[Dataset, DatasetSource]:
        """Read a data set, downloading its package first if it is given by URL.

        Blocks for the download and the reading: call it where training runs.

        Args:
            source: As :meth:`resolve` gives it.
            progress: Told the bytes downloaded so far, and the total if known.

        Returns:
            The data set, and where it came from: the URL and the SHA-256 of the
            package file (for a named data set, those it was fetched with; for a
            bundled one, neither).

        Raises:
            DownloadError: If the download is refused or fails.
            DatasetError: If the package is unsafe or invalid; nothing is kept then.
        """
        if source.name in datasets.BUNDLED:
            return datasets.bundled(source.name), DatasetSource(name=source.name)
        if source.url is None:
            return self._load_named(str(source.name))
        path = download(
            source.url,
            self.folder,
            sha256=source.sha256,
            max_bytes=self.settings.download_max_bytes,
            timeout=self.settings.download_timeout,
            connect_timeout=self.settings.dataset_connect_timeout,
            allowed_networks=self.settings.allowed_networks,
            allow_file=self.settings.dataset_allow_file,
            progress=progress,
        )
        sha256 = file_sha256(path)
        try:
            dataset = self._read(path)
        except BaseException:
            if not self._referenced(path):
                path.unlink(missing_ok=True)
            raise
        origin = DatasetSource(url=source.url, sha256=sha256)
        self._remember(dataset["name"], origin, path)
        return dataset, origin

    def _read(self, path: Path) -> Dataset:
        self.folder.mkdir(parents=True, exist_ok=True)
        return datasets.load_package(
            path,
            limits=self.settings.extraction_limits(),
            max_rows=self.settings.dataset_max_rows,
            scratch=self.folder,
        )

    def _index(self, name: str) -> Path:
        return self.folder / f"{name}.json"

    def _load_named(self, name: str) -> tuple[Dataset, DatasetSource]:
        try:
            entry = json.loads(self._index(name).read_text())
            path = self.folder / Path(entry["file"]).name
            origin = DatasetSource(url=entry["url"], sha256=entry["sha256"])
        except (OSError, ValueError, KeyError, TypeError) as error:
            raise DatasetError(f"data set {name!r} is not available: {error}") from error
        if not path.is_file() or file_sha256(path) != origin.sha256:
            raise DatasetError(
                f"the package of data set {name!r} is gone or changed: fetch it again"
            )
        return self._read(path), origin

    def _remember(self, name: str, origin: DatasetSource, path: Path) -> None:
        """Keep a package under its name: the newest fetch of a name wins.

        A package that names itself after a bundled data set is not kept (the bundled
        one keeps the name), and the file a name referred to before is removed once no
        name refers to it: the cache holds what names refer to, and nothing else.
        """
        index = self._index(name)
        before = self._file_of(index)
        if name in datasets.BUNDLED:
            if not self._referenced(path):
                path.unlink(missing_ok=True)
            return
        entry: dict[str, Any] = {"url": origin.url, "sha256": origin.sha256, "file": path.name}
        with tempfile.NamedTemporaryFile(
            "w", dir=self.folder, prefix=".index-", suffix=".json", delete=False
        ) as handle:
            json.dump(entry, handle)
        os.replace(handle.name, index)
        if (
            before is not None
            and before != path.name
            and not self._referenced(self.folder / before)
        ):
            (self.folder / before).unlink(missing_ok=True)

    @staticmethod
    def _file_of(index: Path) -> str | None:
        with contextlib.suppress(OSError, ValueError, KeyError, TypeError):
            return str(json.loads(index.read_text())["file"])
        return None

    def _referenced(self, path: Path) -> bool:
        return any(self._file_of(index) == path.name for index in self.folder.glob("*.json"))


def _invalid(location: tuple[str, ...], message: str, kind: str) -> InvalidInputError:
    return InvalidInputError(
        "invalid data set", [FieldError(Input.DATASET, location, message, kind)]
    )
