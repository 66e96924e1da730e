"""A replica's copies of the model files it read from an object store, on its own disk.

Files are named by their SHA-256, as in the store, written atomically and checked on every
read: a damaged copy is dropped, and the store is asked again. A replica that restarts, or
activates a version it has read before, reads nothing from the store.
"""

import logging
from pathlib import Path

from mlapi.ml.persistence import sha256_hex, write_atomic

logger = logging.getLogger(__name__)


class FileCache:
    """Model files by checksum in a local folder, which may be shared by a replica's processes.

    Args:
        folder: Where the copies go; created on the first write.
    """

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def path_for(self, checksum: str) -> Path:
        """Return where the copy of the file with this SHA-256 (hexadecimal) goes."""
        return self.folder / f"{checksum}.skops"

    def read(self, checksum: str) -> bytes | None:
        """Read a cached copy if there is an intact one; drop a damaged one.

        Returns:
            The file's bytes; None if there is no copy, or it was damaged (and is gone).
        """
        path = self.path_for(checksum)
        try:
            data = path.read_bytes()
        except FileNotFoundError:
            return None
        except OSError as error:
            logger.warning("cached model file %s cannot be read: %s", path, error)
            return None
        if sha256_hex(data) == checksum:
            return data
        logger.warning("cached model file %s is damaged; reading it from the store again", path)
        self.drop(checksum)
        return None

    def write(self, checksum: str, data: bytes) -> None:
        """Keep a copy of a file already checked against its checksum.

        A copy that cannot be written (a full or read-only disk) is logged and skipped:
        the cache saves reads, it never fails one.
        """
        try:
            write_atomic(self.path_for(checksum), data)
        except OSError as error:
            logger.warning("model file %s not cached in %s: %s", checksum, self.folder, error)

    def drop(self, checksum: str) -> None:
        """Remove the copy of a file, if there is one."""
        try:
            self.path_for(checksum).unlink(missing_ok=True)
        except OSError as error:
            logger.warning("cached model file %s not removed: %s", checksum, error)
