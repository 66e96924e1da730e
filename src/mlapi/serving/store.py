"""The model store: immutable, content-addressed model files behind fsspec.

Each file is named after its SHA-256 and never rewritten, so a reader can always check
what it read. Local folders are written atomically (temporary file, fsync, rename);
other fsspec back ends (``s3://`` and the like) write whole objects, which they publish
atomically themselves.
"""

import posixpath
from pathlib import Path

import fsspec
from fsspec.implementations.local import LocalFileSystem

from mlapi.ml.errors import ModelFileError
from mlapi.ml.persistence import sha256_hex, write_atomic


class ModelStore:
    """Reads and writes model files under one folder or URL.

    Args:
        url: A local folder or an fsspec URL such as ``s3://bucket/models``.
    """

    def __init__(self, url: str) -> None:
        self.url = url
        self._fs, self._root = fsspec.core.url_to_fs(url)

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
        """
        checksum = sha256_hex(data)
        path = self.path_for(checksum)
        try:
            if sha256_hex(self._fs.cat_file(path)) == checksum:
                return checksum  # already there, intact
        except (OSError, ValueError):
            pass  # missing: write it; damaged: write it again
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
