"""The model store on a real S3-compatible server (moto): uploads, checks, the replica cache."""

import asyncio
import hashlib
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import fsspec
import pytest

from mlapi.ml import ModelFileError
from mlapi.serving.database import make_engine, migrate
from mlapi.serving.errors import ModelStoreError
from mlapi.serving.records import JobState, TrainingJob, TrainingOrder
from mlapi.serving.registry import Registry
from mlapi.serving.service import Service, Training, check_model_store
from mlapi.serving.store import ModelStore
from mlapi.settings import Settings
from tests.conftest import S3_KEYS
from tests.e2e.conftest import free_port
from tests.e2e.services import start_s3_server
from tests.serving.conftest import Trainer

DATA = b"model file bytes" * 100
CHECKSUM = hashlib.sha256(DATA).hexdigest()


def _settings(tmp_path: Path, endpoint: str, bucket: str, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "model_dir": f"s3://{bucket}/models",
        "database_url": f"sqlite:///{tmp_path / 'registry.sqlite3'}",
        "cache_dir": tmp_path / "cache",
        "s3_endpoint_url": endpoint,
        "s3_access_key_id": S3_KEYS["aws_access_key_id"],
        "s3_secret_access_key": S3_KEYS["aws_secret_access_key"],
        "s3_timeout": 2,
        "dev_mode": True,
    }
    return Settings(**{**values, **overrides})


@pytest.fixture
def s3_settings(tmp_path: Path, s3_server: str, s3_bucket: str) -> Settings:
    """Settings whose model store is the test's bucket on the session's S3 server."""
    return _settings(tmp_path, s3_server, s3_bucket)


@pytest.fixture
def store(s3_settings: Settings) -> ModelStore:
    return ModelStore.for_settings(s3_settings)


def _bucket(settings: Settings) -> Any:
    """An s3fs file system on the settings' store, to look at the objects behind its back."""
    return fsspec.filesystem("s3", skip_instance_cache=True, **settings.storage_options("s3://"))


def _object(settings: Settings, checksum: str) -> str:
    return f"{settings.model_dir.removeprefix('s3://')}/versions/{checksum}.skops"


def _replica(settings: Settings, tmp_path: Path, name: str) -> ModelStore:
    """The same store as another replica sees it: its own cache folder."""
    return ModelStore.for_settings(settings.model_copy(update={"cache_dir": tmp_path / name}))


def test_put_uploads_the_file_named_by_its_checksum(
    store: ModelStore, s3_settings: Settings
) -> None:
    checksum = store.put(DATA)

    assert checksum == CHECKSUM
    assert _bucket(s3_settings).cat_file(_object(s3_settings, checksum)) == DATA


def test_get_downloads_checks_and_caches_the_file(
    store: ModelStore, s3_settings: Settings, tmp_path: Path
) -> None:
    store.put(DATA)
    replica = _replica(s3_settings, tmp_path, "replica")

    assert replica.get(CHECKSUM) == DATA
    assert replica.cache is not None
    assert replica.cache.path_for(CHECKSUM).read_bytes() == DATA


def test_a_cached_file_is_read_again_without_the_store(
    store: ModelStore, s3_settings: Settings, tmp_path: Path
) -> None:
    store.put(DATA)
    _replica(s3_settings, tmp_path, "replica").get(CHECKSUM)
    _bucket(s3_settings).rm_file(_object(s3_settings, CHECKSUM))

    restarted = _replica(s3_settings, tmp_path, "replica")

    assert restarted.get(CHECKSUM) == DATA
    with pytest.raises(ModelFileError, match="cannot be read"):
        _replica(s3_settings, tmp_path, "new-replica").get(CHECKSUM)


def test_a_damaged_cached_copy_is_dropped_and_downloaded_again(
    store: ModelStore, s3_settings: Settings, tmp_path: Path
) -> None:
    store.put(DATA)
    replica = _replica(s3_settings, tmp_path, "replica")
    replica.get(CHECKSUM)
    assert replica.cache is not None
    copy = replica.cache.path_for(CHECKSUM)
    copy.write_bytes(b"X" + DATA[1:])

    assert replica.get(CHECKSUM) == DATA
    assert copy.read_bytes() == DATA


def test_a_damaged_object_is_refused_and_not_cached(
    store: ModelStore, s3_settings: Settings, tmp_path: Path
) -> None:
    store.put(DATA)
    _bucket(s3_settings).pipe_file(_object(s3_settings, CHECKSUM), DATA[:-1])
    replica = _replica(s3_settings, tmp_path, "replica")

    with pytest.raises(ModelFileError, match="damaged"):
        replica.get(CHECKSUM)
    assert replica.cache is not None
    assert not replica.cache.path_for(CHECKSUM).exists()


def test_put_rewrites_a_damaged_object(store: ModelStore, s3_settings: Settings) -> None:
    store.put(DATA)
    _bucket(s3_settings).pipe_file(_object(s3_settings, CHECKSUM), b"garbage")

    store.put(DATA)

    assert _bucket(s3_settings).cat_file(_object(s3_settings, CHECKSUM)) == DATA


def test_an_upload_the_store_does_not_keep_whole_is_refused_and_never_registered(
    s3_settings: Settings, store: ModelStore, train: Trainer, monkeypatch: pytest.MonkeyPatch
) -> None:
    # What a store that truncates an object looks like; moto keeps what it is sent.
    filesystem = store._fs
    upload = filesystem.pipe_file
    monkeypatch.setattr(filesystem, "pipe_file", lambda path, data: upload(path, data[:-1]))
    engine = make_engine(s3_settings.registry_url)
    migrate(engine)
    registry = Registry(engine, store)

    with pytest.raises(ModelStoreError, match="gave back"):
        registry.register(train(), created_by="test")
    assert registry.page().total == 0
    engine.dispose()


def test_an_unreachable_store_raises_model_store_error(tmp_path: Path) -> None:
    nobody = f"http://127.0.0.1:{free_port()}"
    store = ModelStore.for_settings(_settings(tmp_path, nobody, "bucket"))

    for operation in (store.check_reachable, lambda: store.get(CHECKSUM)):
        with pytest.raises(ModelStoreError, match=r"s3://bucket/models failed .*127\.0\.0\.1"):
            operation()


def test_a_missing_bucket_is_named(tmp_path: Path, s3_server: str) -> None:
    settings = _settings(tmp_path, s3_server, "no-such-bucket")

    with pytest.raises(ModelStoreError, match="bucket 'no-such-bucket' does not exist"):
        check_model_store(settings)
    with pytest.raises(ModelStoreError):
        ModelStore.for_settings(settings).put(DATA)


def test_a_reachable_store_passes_the_start_up_check(s3_settings: Settings) -> None:
    check_model_store(s3_settings)


def test_a_deleted_version_leaves_neither_object_nor_cached_copy(
    store: ModelStore, s3_settings: Settings
) -> None:
    store.put(DATA)
    store.get(CHECKSUM)

    store.delete(CHECKSUM)

    assert not _bucket(s3_settings).exists(_object(s3_settings, CHECKSUM))
    assert store.cache is not None
    assert not store.cache.path_for(CHECKSUM).exists()


# A store that checks keys: moto authenticating every request after the IAM set-up.


@pytest.fixture(scope="module")
def keyed_s3() -> Iterator[tuple[str, dict[str, str]]]:
    """An S3 server that takes only one IAM user's keys, and those keys (module-wide)."""
    import botocore.session

    with start_s3_server(authenticate_after=3) as endpoint:
        session = botocore.session.get_session()
        iam = session.create_client(
            "iam", endpoint_url=endpoint, region_name="us-east-1", **S3_KEYS
        )
        iam.create_user(UserName="mlapi")
        policy = {"Effect": "Allow", "Action": "s3:*", "Resource": "*"}
        iam.put_user_policy(
            UserName="mlapi",
            PolicyName="models",
            PolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": [policy]}),
        )
        key = iam.create_access_key(UserName="mlapi")["AccessKey"]
        iam.close()
        yield (
            endpoint,
            {
                "s3_access_key_id": key["AccessKeyId"],
                "s3_secret_access_key": key["SecretAccessKey"],
            },
        )


def _keyed_bucket(keyed_s3: tuple[str, dict[str, str]], name: str) -> None:
    import botocore.session

    endpoint, keys = keyed_s3
    client = botocore.session.get_session().create_client(
        "s3",
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id=keys["s3_access_key_id"],
        aws_secret_access_key=keys["s3_secret_access_key"],
    )
    client.create_bucket(Bucket=name)
    client.close()


def test_a_wrong_secret_is_refused_as_a_store_error(
    tmp_path: Path, keyed_s3: tuple[str, dict[str, str]]
) -> None:
    endpoint, keys = keyed_s3
    _keyed_bucket(keyed_s3, "wrong-secret")
    wrong = {**keys, "s3_secret_access_key": "**********"}
    store = ModelStore.for_settings(_settings(tmp_path, endpoint, "wrong-secret", **wrong))

    with pytest.raises(ModelStoreError, match="Forbidden"):
        store.check_reachable()
    with pytest.raises(ModelStoreError, match=r"Forbidden|signature"):
        store.put(DATA)


def test_a_training_process_uploads_with_the_configured_secret(
    tmp_path: Path, keyed_s3: tuple[str, dict[str, str]]
) -> None:
    # The settings reach the training process as JSON: a masked secret would be refused.
    endpoint, keys = keyed_s3
    _keyed_bucket(keyed_s3, "training")
    settings = _settings(tmp_path, endpoint, "training", **keys)

    async def scenario() -> TrainingJob:
        async with Service(settings, training=Training.POOL) as service:
            job = await service.train(TrainingOrder(activate=False), created_by="test")
            return await service.wait(job.id)  # TrainingFailedError, saying why, if it failed

    job = asyncio.run(scenario())

    assert (job.state, job.model_version) == (JobState.SUCCEEDED, 2)  # 1: the bundled model
    engine = make_engine(settings.registry_url)
    checksum = Registry.for_settings(engine, settings).get(2).checksum
    engine.dispose()
    assert _bucket(settings).exists(_object(settings, checksum))
