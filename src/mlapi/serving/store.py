"""The model store: immutable, content-addressed model files behind fsspec.

Each file is named after its SHA-256 and never rewritten, so a reader can always check
what it read. Local folders are written atomically (temporary file, fsync, rename);
other fsspec back ends (``s3://`` and the like) write whole objects, which they publish
atomically themselves, and each object is read back before :meth:`ModelStore.put`
returns. Files read from an object store are kept in a local :class:`FileCache`, so each
replica reads a version from the store once. A store that cannot be reached raises
:class:`~mlapi.serving.errors.ModelStoreError`, never a file's error.
"""

import posixpath
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import fsspec
from fsspec.implementations.local import LocalFileSystem

from mlapi.ml.errors import ModelFileError
from mlapi.ml.persistence import sha256_hex, write_atomic
from mlapi.serving.errors import ModelStoreError, StorageFullError
from mlapi.serving.file_cache import FileCache
from mlapi.settings import Settings


class ModelStore:
    """Reads and writes model files under one folder or URL.

    Args:
        url: A local folder or an fsspec URL such as ``s3://bucket/models``.
        max_bytes: Most bytes the files may take together; unlimited if None.
        min_free_bytes: Free space a new file must leave on a local folder's disk.
        storage_options: Keyword arguments of the URL's fsspec file system (endpoint,
            credentials); see :meth:`~mlapi.storage.ObjectStorage.storage_options`.
        cache_dir: Where files read from a remote store are kept; no cache if None.
            Unused for a local folder.

    Raises:
        ModelStoreError: If the URL's fsspec back end is not installed.
    """

    def __init__(
        self,
        url: str,
        *,
        max_bytes: int | None = None,
        min_free_bytes: int = 0,
        storage_options: dict[str, Any] | None = None,
        cache_dir: Path | None = None,
    ) -> None:
        self.url = url
        self.max_bytes = max_bytes
        self.min_free_bytes = min_free_bytes
        self._options = dict(storage_options or {})
        try:
            filesystem, self._root = fsspec.core.url_to_fs(url, **self._options)
        except ImportError as error:
            raise ModelStoreError(
                f"the model store {url} needs a back end that is not installed: {error} "
                "(for s3:// URLs, install mlapi[s3])"
            ) from error
        self.local = isinstance(filesystem, LocalFileSystem)
        """Whether the store is a folder of this machine's, rather than an object store."""
        self.cache = None if self.local or cache_dir is None else FileCache(cache_dir)
        """This replica's copies of the files read from a remote store; None if local."""

    @classmethod
    def for_settings(cls, settings: Settings) -> "ModelStore":
        """Open the store ``model_dir`` names, with the limits, keys and cache ``settings`` give."""
        return cls(
            settings.model_dir,
            max_bytes=settings.model_store_max_bytes,
            min_free_bytes=settings.min_free_disk_bytes,
            storage_options=settings.storage_options(settings.model_dir),
            cache_dir=settings.model_cache_dir or settings.cache_dir / "models",
        )

    @property
    def _fs(self) -> Any:
        # fsspec keeps one instance per process: a forked worker gets its own, as an async
        # file system (s3fs) cannot use the event loop thread of the process it forked from.
        return fsspec.core.url_to_fs(self.url, **self._options)[0]

    @contextmanager
    def _reaching(self, doing: str, *, missing: bool = True) -> Iterator[None]:
        """Turn a remote store's failures into :class:`ModelStoreError`.

        Args:
            doing: What was being done, for the message.
            missing: Let :class:`FileNotFoundError` through (a file that is not there);
                else it too means the store is unusable (no such bucket).
        """
        if self.local:
            yield
            return
        try:
            yield
        except FileNotFoundError as error:
            if missing:
                raise
            raise ModelStoreError(f"the model store {self.url} failed {doing}: {error}") from error
        except Exception as error:  # botocore's, aiohttp's and OSErrors: all the store's
            raise ModelStoreError(
                f"the model store {self.url} failed {doing}: {type(error).__name__}: {error}"
            ) from error

    def check_reachable(self) -> None:
        """Make sure a remote store answers, and its bucket (the URL's first part) exists.

        What ``mlapi serve`` checks before it starts, and training before it queues a job.
        Needs the right to list the bucket (``s3:ListBucket``). Nothing to check locally.

        Raises:
            ModelStoreError: Saying what failed: the address, the keys, the bucket.
        """
        if self.local:
            return
        bucket = self._root.split("/", 1)[0]
        try:
            with self._reaching(f"looking up its bucket {bucket!r}"):
                self._fs.info(bucket, refresh=True)
        except FileNotFoundError as error:
            raise ModelStoreError(
                f"the model store {self.url} cannot be used: its bucket {bucket!r} does not exist"
            ) from error

    def usage(self) -> int:
        """Return how many bytes the model files take together."""
        folder = posixpath.join(self._root, "versions")
        try:
            with self._reaching("adding up its files' sizes"):
                sizes = self._fs.du(folder, total=False)
        except FileNotFoundError:
            return 0
        return sum(int(size) for size in sizes.values())

    def check_room(self, size: int = 1) -> None:
        """Refuse, before anything is written, a file that would pass the quota or fill the disk.

        Args:
            size: Bytes about to be written (one by default: whether anything fits).

        Raises:
            StorageFullError: Saying which limit, and by how much.
            ModelStoreError: If a remote store cannot be reached.
        """
        if self.max_bytes is None:
            self.check_reachable()
        else:
            used = self.usage()
            if used + size > self.max_bytes:
                raise StorageFullError(
                    f"the model store holds {used} bytes; {size} more would pass its "
                    f"{self.max_bytes}-byte quota (MLAPI_MODEL_STORE_MAX_BYTES): delete "
                    "versions no longer needed"
                )
        if isinstance(self._fs, LocalFileSystem) and self.min_free_bytes:
            folder = Path(self._root)
            while not folder.exists() and folder != folder.parent:
                folder = folder.parent
            free = shutil.disk_usage(folder).free
            if free - size < self.min_free_bytes:
                raise StorageFullError(
                    f"the model store's disk has {free} bytes free; {size} more would leave "
                    f"less than the {self.min_free_bytes} kept free (MLAPI_MIN_FREE_DISK_BYTES)"
                )

    def path_for(self, checksum: str) -> str:
        """Return where the file with this checksum lives.

        Args:
            checksum: SHA-256 of the file, hexadecimal.

        Returns:
            Its path in the store.
        """
        return posixpath.join(self._root, "versions", f"{checksum}.skops")

    def put(self, data: bytes) -> str:
        """Store a model file, unless an identical one is already there.

        On a remote store the object is read back once written: when this returns, the
        store holds the file, whole, and a version may name it.

        Args:
            data: The file's bytes.

        Returns:
            The file's SHA-256, which names it in the store.

        Raises:
            StorageFullError: If the file would pass the quota or fill the disk; nothing
                is written.
            ModelStoreError: If a remote store cannot be reached, or does not give back
                what was written.
        """
        checksum = sha256_hex(data)
        path = self.path_for(checksum)
        if self._holds(path, checksum):
            return checksum
        self.check_room(len(data))
        if self.local:
            write_atomic(Path(path), data)
            return checksum
        with self._reaching("writing a model file", missing=False):
            self._fs.pipe_file(path, data)
            written = self._fs.cat_file(path)
        if sha256_hex(written) != checksum:
            raise ModelStoreError(
                f"the model store {self.url} gave back {len(written)} bytes of another "
                f"SHA-256 for {path}, written with {len(data)} bytes: not registered"
            )
        if self.cache is not None:
            self.cache.write(checksum, data)
        return checksum

    def _holds(self, path: str, checksum: str) -> bool:
        """Whether the store already holds this file, intact (a damaged one is rewritten)."""
        try:
            with self._reaching("reading a model file"):
                return sha256_hex(self._fs.cat_file(path)) == checksum
        except (OSError, ValueError):
            return False

    def get(self, checksum: str) -> bytes:
        """Read a model file and check that it is the one registered.

        From a remote store, an intact copy in this replica's cache is read instead; a
        file read from the store is cached once checked.

        Args:
            checksum: Its registered SHA-256.

        Returns:
            The file's bytes.

        Raises:
            ModelFileError: If the file is missing, truncated or altered.
            ModelStoreError: If a remote store cannot be reached.
        """
        if self.cache is not None:
            cached = self.cache.read(checksum)
            if cached is not None:
                return cached
        path = self.path_for(checksum)
        try:
            with self._reaching("reading a model file"):
                data: bytes = self._fs.cat_file(path)
        except (OSError, ValueError) as error:
            raise ModelFileError(f"model file {path} cannot be read: {error}") from error
        actual = sha256_hex(data)
        if actual != checksum:
            raise ModelFileError(
                f"model file {path} is damaged: SHA-256 {actual}, registered {checksum}"
            )
        if self.cache is not None:
            self.cache.write(checksum, data)
        return data

    def delete(self, checksum: str) -> None:
        """Remove a model file, and this replica's copy of it, if they exist.

        Args:
            checksum: Its SHA-256.

        Raises:
            ModelStoreError: If a remote store cannot be reached.
        """
        if self.cache is not None:
            self.cache.drop(checksum)
        path = self.path_for(checksum)
        with self._reaching("deleting a model file"):
            if self._fs.exists(path):
                self._fs.rm_file(path)
