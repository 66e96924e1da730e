"""The model store: immutable, content-addressed model files behind fsspec.

Each file is named after its SHA-256 and never rewritten, so a reader can always check
what it read. Local folders are written atomically (temporary file, fsync, rename);
other fsspec back ends (``s3://`` and the like) write whole objects, which they publish
atomically themselves.
"""

import posixpath
import shutil
from pathlib import Path

import fsspec
from fsspec.implementations.local import LocalFileSystem

from mlapi.ml.errors import ModelFileError
from mlapi.ml.persistence import sha256_hex, write_atomic
from mlapi.serving.errors import StorageFullError
from mlapi.settings import Settings


class ModelStore:
    """Reads and writes model files under one folder or URL.

    Args:
        url: A local folder or an fsspec URL such as ``s3://bucket/models``.
        max_bytes: Most bytes the files may take together; unlimited if None.
        min_free_bytes: Free space a new file must leave on a local folder's disk.
    """

    def __init__(self, url: str, *, max_bytes: int | None = None, min_free_bytes: int = 0) -> None:
        self.url = url
        self.max_bytes = max_bytes
        self.min_free_bytes = min_free_bytes
        self._fs, self._root = fsspec.core.url_to_fs(url)

    @classmethod
    def for_settings(cls, settings: Settings) -> "ModelStore":
        """Open the store ``model_dir`` names, with the quota and reserve of ``settings``."""
        return cls(
            settings.model_dir,
            max_bytes=settings.model_store_max_bytes,
            min_free_bytes=settings.min_free_disk_bytes,
        )

    def usage(self) -> int:
        """Return how many bytes the model files take together."""
        folder = posixpath.join(self._root, "versions")
        if not self._fs.exists(folder):
            return 0
        return sum(int(size) for size in self._fs.du(folder, total=False).values())

    def check_room(self, size: int = 1) -> None:
        """Refuse, before anything is written, a file that would pass the quota or fill the disk.

        Args:
            size: Bytes about to be written (one by default: whether anything fits).

        Raises:
            StorageFullError: Saying which limit, and by how much.
        """
        if self.max_bytes is not None:
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

        Args:
            data: The file's bytes.

        Returns:
            The file's SHA-256, which names it in the store.

        Raises:
            StorageFullError: If the file would pass the quota or fill the disk; nothing
                is written.
        """
        checksum = sha256_hex(data)
        path = self.path_for(checksum)
        try:
            if sha256_hex(self._fs.cat_file(path)) == checksum:
                return checksum  # already there, intact
        except (OSError, ValueError):
            pass  # missing: write it; damaged: write it again
        self.check_room(len(data))
        if isinstance(self._fs, LocalFileSystem):
            write_atomic(Path(path), data)
        else:  # pragma: no cover - exercised only against object stores
            self._fs.pipe_file(path, data)
        return checksum

    def get(self, checksum: str) -> bytes:
        """Read a model file and check that it is the one registered.

        Args:
            checksum: Its registered SHA-256.

        Returns:
            The file's bytes.

        Raises:
            ModelFileError: If the file is missing, truncated or altered.
        """
        path = self.path_for(checksum)
        try:
            data: bytes = self._fs.cat_file(path)
        except (OSError, ValueError) as error:
            raise ModelFileError(f"model file {path} cannot be read: {error}") from error
        actual = sha256_hex(data)
        if actual != checksum:
            raise ModelFileError(
                f"model file {path} is damaged: SHA-256 {actual}, registered {checksum}"
            )
        return data

    def delete(self, checksum: str) -> None:
        """Remove a model file if it exists.

        Args:
            checksum: Its SHA-256.
        """
        path = self.path_for(checksum)
        if self._fs.exists(path):
            self._fs.rm_file(path)
