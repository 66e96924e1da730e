"""The model store: content-addressed files, written once, checked on every read."""

import hashlib
import shutil
from pathlib import Path

import pytest

from mlapi.ml import ModelFileError
from mlapi.serving.errors import StorageFullError
from mlapi.serving.store import ModelStore

DATA = b"model file bytes" * 100


@pytest.fixture
def store(tmp_path: Path) -> ModelStore:
    return ModelStore(str(tmp_path / "models"))


def test_put_names_the_file_after_its_sha256(store: ModelStore, tmp_path: Path) -> None:
    checksum = store.put(DATA)
    path = store.path_for(checksum)

    assert checksum == hashlib.sha256(DATA).hexdigest()
    assert Path(path) == tmp_path / "models" / "versions" / f"{checksum}.skops"
    assert Path(path).read_bytes() == DATA


def test_put_leaves_no_temporary_file(store: ModelStore, tmp_path: Path) -> None:
    store.put(DATA)

    assert [p.name for p in (tmp_path / "models" / "versions").iterdir()] == [
        f"{hashlib.sha256(DATA).hexdigest()}.skops"
    ]


def test_put_of_the_same_bytes_twice_gives_the_same_file(store: ModelStore) -> None:
    assert store.put(DATA) == store.put(DATA)


def test_get_returns_the_bytes_put(store: ModelStore) -> None:
    checksum = store.put(DATA)

    assert store.get(checksum) == DATA


def test_get_refuses_a_truncated_file(store: ModelStore) -> None:
    checksum = store.put(DATA)
    path = store.path_for(checksum)
    Path(path).write_bytes(DATA[: len(DATA) // 2])

    with pytest.raises(ModelFileError, match="damaged"):
        store.get(checksum)


def test_get_refuses_an_altered_file_of_the_same_length(store: ModelStore) -> None:
    checksum = store.put(DATA)
    path = store.path_for(checksum)
    Path(path).write_bytes(b"X" + DATA[1:])

    with pytest.raises(ModelFileError, match=checksum):
        store.get(checksum)


def test_get_refuses_a_missing_file(store: ModelStore) -> None:
    checksum = store.put(DATA)
    path = store.path_for(checksum)
    Path(path).unlink()

    with pytest.raises(ModelFileError, match="cannot be read"):
        store.get(checksum)


def test_delete_removes_the_file_and_ignores_a_missing_one(store: ModelStore) -> None:
    path = store.path_for(store.put(DATA))

    store.delete(Path(path).stem)
    store.delete(Path(path).stem)

    assert not Path(path).exists()


def test_memory_url_store_round_trips_and_checks(tmp_path: Path) -> None:
    store = ModelStore(f"memory://{tmp_path.name}/models")
    checksum = store.put(DATA)
    path = store.path_for(checksum)

    assert store.get(checksum) == DATA
    store._fs.pipe_file(path, b"other bytes")
    with pytest.raises(ModelFileError, match="damaged"):
        store.get(checksum)
    store.delete(checksum)
    with pytest.raises(ModelFileError):
        store.get(checksum)


def test_a_file_past_the_quota_is_refused_before_anything_is_written(tmp_path: Path) -> None:
    quota = ModelStore(str(tmp_path), max_bytes=1500)
    quota.put(b"a" * 1000)

    with pytest.raises(StorageFullError, match="1000 more would pass its 1500-byte quota"):
        quota.put(b"b" * 1000)
    quota.put(b"a" * 1000)  # already there: takes no room
    assert quota.usage() == 1000
    assert len(list((tmp_path / "versions").iterdir())) == 1
    with pytest.raises(StorageFullError):
        ModelStore(str(tmp_path), max_bytes=1000).check_room()


def test_a_file_that_would_leave_too_little_disk_free_is_refused(tmp_path: Path) -> None:
    free = shutil.disk_usage(tmp_path).free
    store = ModelStore(str(tmp_path / "not-yet"), min_free_bytes=free)

    with pytest.raises(StorageFullError, match="MLAPI_MIN_FREE_DISK_BYTES"):
        store.put(b"model")
    assert not (tmp_path / "not-yet").exists()
