"""Settings: defaults, and the priority of arguments, environment and TOML file."""

import json
import os
import signal
import subprocess
import sys
from ipaddress import ip_network
from pathlib import Path

import pytest
from pydantic import ValidationError

from mlapi.logs import LogLevel
from mlapi.ml import IrisClassifier
from mlapi.settings import Settings
from tests.e2e.conftest import free_port

#: Safety net for a server that should refuse to start; not a performance assertion.
SERVE_EXIT_SECONDS = 60


def _write(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


def test_defaults_listen_on_loopback_port_8888() -> None:
    settings = Settings()

    assert settings.host == "127.0.0.1"
    assert settings.port == 8888
    assert settings.workers == 1
    assert settings.log_level is LogLevel.INFO
    assert settings.default_algorithm == "decision_tree"
    assert settings.hyperparameters == {}
    assert settings.model_dir == "var/models"
    assert settings.database_url is None
    assert settings.training_workers == 1
    assert settings.poll_interval == 0.25
    assert settings.job_stale_seconds == 5.0
    assert settings.ssl_keyfile is None


def test_environment_variable_overrides_port(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MLAPI_PORT", "9001")

    assert Settings().port == 9001


def test_config_file_named_by_environment_is_read(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    config = _write(tmp_path / "elsewhere.toml", 'port = 7000\nhost = "0.0.0.0"\n')
    monkeypatch.setenv("MLAPI_CONFIG_FILE", str(config))

    settings = Settings()

    assert (settings.host, settings.port) == ("0.0.0.0", 7000)  # noqa: S104


def test_mlapi_toml_in_working_folder_is_read_when_present(tmp_path: Path) -> None:
    assert Path.cwd() == tmp_path
    _write(tmp_path / "mlapi.toml", 'port = 7001\nlog_level = "debug"\n')

    settings = Settings()

    assert settings.port == 7001
    assert settings.log_level is LogLevel.DEBUG


def test_config_file_named_by_environment_wins_over_mlapi_toml(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    _write(tmp_path / "mlapi.toml", "port = 7001\n")
    monkeypatch.setenv("MLAPI_CONFIG_FILE", str(_write(tmp_path / "named.toml", "port = 7002\n")))

    assert Settings().port == 7002


def test_toml_tables_set_hyperparameters(tmp_path: Path) -> None:
    _write(
        tmp_path / "mlapi.toml",
        'default_algorithm = "gradient_boosting"\n'
        "[hyperparameters.gradient_boosting]\n"
        "n_estimators = 12\n",
    )

    settings = Settings()

    assert settings.default_algorithm == "gradient_boosting"
    assert settings.hyperparameters == {"gradient_boosting": {"n_estimators": 12}}


def test_environment_beats_config_file(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    _write(tmp_path / "mlapi.toml", "port = 7001\nworkers = 3\n")
    monkeypatch.setenv("MLAPI_PORT", "9002")

    settings = Settings()

    assert settings.port == 9002
    assert settings.workers == 3


def test_arguments_beat_environment_and_file(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    _write(tmp_path / "mlapi.toml", "port = 7001\n")
    monkeypatch.setenv("MLAPI_PORT", "9002")

    assert Settings(port=1234).port == 1234


def test_missing_config_file_named_by_environment_raises(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("MLAPI_CONFIG_FILE", str(tmp_path / "absent.toml"))

    with pytest.raises(FileNotFoundError, match=r"absent\.toml"):
        Settings()


def test_unknown_key_in_config_file_is_rejected(tmp_path: Path) -> None:
    _write(tmp_path / "mlapi.toml", "prot = 7001\n")

    with pytest.raises(ValidationError, match="prot"):
        Settings()


def test_unknown_environment_variable_is_refused_naming_the_setting_meant(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("MLAPI_MODEL_DIRS", "/srv/models")

    with pytest.raises(ValueError, match=r"MLAPI_MODEL_DIRS \(did you mean MLAPI_MODEL_DIR\?\)"):
        Settings()


def test_every_unknown_environment_variable_is_named(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MLAPI_PROT", "9001")
    monkeypatch.setenv("MLAPI_ZZZ", "1")

    with pytest.raises(ValueError, match="name no setting") as raised:
        Settings()

    assert "MLAPI_PROT (did you mean MLAPI_PORT?)" in str(raised.value)
    assert "MLAPI_ZZZ" in str(raised.value)
    assert "MLAPI_ZZZ (did you mean" not in str(raised.value)


def test_unknown_lower_case_environment_variable_is_refused(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("mlapi_model_dirs", "/srv/models")

    with pytest.raises(ValueError, match=r"mlapi_model_dirs \(did you mean MLAPI_MODEL_DIR\?\)"):
        Settings()


def test_lower_case_spelling_of_a_setting_is_accepted(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("mlapi_port", "9003")

    assert Settings().port == 9003


def test_config_file_variable_is_not_reported_as_unknown(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("MLAPI_CONFIG_FILE", str(_write(tmp_path / "named.toml", "port = 7003\n")))
    monkeypatch.setenv("MLAPI_MODEL_DIRS", "/srv/models")

    with pytest.raises(ValueError, match="name no setting") as raised:
        Settings()

    assert "CONFIG_FILE" not in str(raised.value)
    monkeypatch.delenv("MLAPI_MODEL_DIRS")
    assert Settings().port == 7003


def test_serve_with_an_unknown_environment_variable_exits_naming_it(tmp_path: Path) -> None:
    env = {name: value for name, value in os.environ.items() if not name.startswith("MLAPI_")}
    env["MLAPI_MODEL_DIR"] = str(tmp_path / "models")
    env["MLAPI_MODEL_DIRS"] = str(tmp_path / "typo")
    command = [sys.executable, "-m", "mlapi", "serve", "--host", "127.0.0.1"]
    command += ["--port", str(free_port())]
    with subprocess.Popen(
        command,
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    ) as process:
        try:
            _, errors = process.communicate(timeout=SERVE_EXIT_SECONDS)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.communicate()
            pytest.fail("mlapi serve started despite an unknown MLAPI_ variable")

    assert process.returncode != 0
    assert "MLAPI_MODEL_DIRS (did you mean MLAPI_MODEL_DIR?)" in errors
    assert "Traceback" not in errors
    assert not (tmp_path / "models").exists()


def test_hyperparameters_json_environment_variable_is_parsed(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("MLAPI_HYPERPARAMETERS", '{"gradient_boosting": {"n_estimators": 7}}')

    assert Settings().hyperparameters == {"gradient_boosting": {"n_estimators": 7}}


def test_invalid_hyperparameter_value_is_a_validation_error() -> None:
    with pytest.raises(ValidationError, match="n_estimators"):
        Settings(hyperparameters={"gradient_boosting": {"n_estimators": 0}})


def test_unknown_hyperparameter_is_a_validation_error() -> None:
    with pytest.raises(ValidationError, match="bogus"):
        Settings(hyperparameters={"decision_tree": {"bogus": 1}})


def test_hyperparameters_of_unknown_algorithm_are_a_validation_error() -> None:
    with pytest.raises(ValidationError, match="unknown algorithm"):
        Settings(hyperparameters={"svm": {}})


def test_unknown_default_algorithm_is_a_validation_error(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("MLAPI_DEFAULT_ALGORITHM", "random_forest")

    with pytest.raises(ValidationError, match="unknown algorithm"):
        Settings()


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("port", 0),
        ("port", 65536),
        ("workers", 0),
        ("test_size", 1.0),
        ("random_state", 2**31),
        ("max_body_bytes", 10),
        ("training_workers", 0),
        ("poll_interval", 0),
        ("poll_interval", 2),
        ("job_stale_seconds", 1),
    ],
)
def test_out_of_range_value_is_a_validation_error(field: str, value: object) -> None:
    with pytest.raises(ValidationError, match=field):
        Settings(**{field: value})


def test_unknown_argument_is_a_validation_error() -> None:
    with pytest.raises(ValidationError):
        Settings(colour="blue")


def test_ssl_keyfile_without_certfile_is_rejected(tmp_path: Path) -> None:
    with pytest.raises(ValidationError, match="set together"):
        Settings(ssl_keyfile=tmp_path / "key.pem")


def test_ssl_certfile_without_keyfile_is_rejected(tmp_path: Path) -> None:
    with pytest.raises(ValidationError, match="set together"):
        Settings(ssl_certfile=tmp_path / "cert.pem")


def test_ssl_key_and_certificate_together_are_accepted(tmp_path: Path) -> None:
    settings = Settings(ssl_keyfile=tmp_path / "key.pem", ssl_certfile=tmp_path / "cert.pem")

    assert settings.ssl_certfile == tmp_path / "cert.pem"


def test_settings_are_frozen() -> None:
    settings = Settings()

    with pytest.raises(ValidationError):
        settings.port = 1  # type: ignore[misc]


def test_registry_url_is_a_sqlite_file_in_the_model_folder(tmp_path: Path) -> None:
    settings = Settings(model_dir=str(tmp_path / "m"))

    assert settings.registry_url == f"sqlite:///{tmp_path / 'm' / 'registry.sqlite3'}"


def test_registry_url_of_a_relative_model_folder_is_absolute(tmp_path: Path) -> None:
    assert Settings(model_dir="models").registry_url == (
        f"sqlite:///{tmp_path / 'models' / 'registry.sqlite3'}"
    )


def test_registry_url_is_the_database_url_when_set(tmp_path: Path) -> None:
    url = "postgresql+psycopg://mlapi:secret@db.example/mlapi"

    assert Settings(model_dir=str(tmp_path), database_url=url).registry_url == url


def test_model_dir_may_be_a_url_with_a_database_url() -> None:
    settings = Settings(
        model_dir="s3://bucket/models", database_url="postgresql+psycopg://db.example/mlapi"
    )

    assert settings.model_dir == "s3://bucket/models"


def test_model_dir_url_without_a_database_url_is_a_validation_error() -> None:
    with pytest.raises(ValidationError, match="MLAPI_DATABASE_URL"):
        Settings(model_dir="s3://bucket/models")


def test_serving_settings_are_read_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MLAPI_DATABASE_URL", "sqlite:////tmp/elsewhere.sqlite3")
    monkeypatch.setenv("MLAPI_TRAINING_WORKERS", "3")
    monkeypatch.setenv("MLAPI_POLL_INTERVAL", "0.5")
    monkeypatch.setenv("MLAPI_JOB_STALE_SECONDS", "30")

    settings = Settings()

    assert settings.registry_url == "sqlite:////tmp/elsewhere.sqlite3"
    assert (settings.training_workers, settings.poll_interval) == (3, 0.5)
    assert settings.job_stale_seconds == 30


def test_dask_settings_are_read_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MLAPI_DASK_SCHEDULER", "tcp://dask-scheduler:8786")
    monkeypatch.setenv("MLAPI_DASK_CONNECT_TIMEOUT", "2.5")
    monkeypatch.setenv("MLAPI_DASK_JOBS", "4")

    settings = Settings()

    assert settings.dask_scheduler == "tcp://dask-scheduler:8786"
    assert (settings.dask_connect_timeout, settings.dask_jobs) == (2.5, 4)


def test_a_blank_dask_scheduler_means_the_local_pool(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MLAPI_DASK_SCHEDULER", " ")

    assert Settings().dask_scheduler is None


def test_settings_survive_a_json_round_trip(tmp_path: Path) -> None:
    settings = Settings(
        model_dir=str(tmp_path), hyperparameters={"decision_tree": {"max_depth": 2}}
    )

    assert Settings(**json.loads(settings.model_dump_json())) == settings


def test_settings_fixture_uses_private_folders(settings: Settings, tmp_path: Path) -> None:
    assert settings.model_dir == str(tmp_path / "models")
    assert settings.cache_dir == tmp_path / "cache"


def test_classifier_options_carry_the_split_and_downloads_but_no_training_defaults(
    tmp_path: Path,
) -> None:
    settings = Settings(
        default_algorithm="gradient_boosting",
        hyperparameters={"gradient_boosting": {"n_estimators": 7}},
        test_size=0.4,
        random_state=3,
        cache_dir=tmp_path / "downloads",
        download_max_bytes=1000,
        download_timeout=3.0,
        dataset_allowed_networks="10.0.0.0/8, 127.0.0.1/32",
    )

    # The configured algorithm and hyperparameters are resolved in the service layer.
    assert settings.classifier_options() == {
        "test_size": 0.4,
        "random_state": 3,
        "cache_dir": tmp_path / "downloads",
        "download_max_bytes": 1000,
        "download_timeout": 3.0,
        "allowed_networks": [ip_network("10.0.0.0/8"), ip_network("127.0.0.1/32")],
    }


def test_allowed_networks_are_read_as_comma_separated_cidrs_from_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("MLAPI_DATASET_ALLOWED_NETWORKS", "127.0.0.0/8,::1/128")

    assert Settings().allowed_networks == [ip_network("127.0.0.0/8"), ip_network("::1/128")]


def test_an_allowed_network_that_is_not_a_cidr_is_refused(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("MLAPI_DATASET_ALLOWED_NETWORKS", "localhost")

    with pytest.raises(ValueError, match="dataset_allowed_networks"):
        Settings()


def test_classifier_options_build_a_classifier_that_splits_as_configured(
    tmp_path: Path,
) -> None:
    settings = Settings(
        test_size=0.4,
        cache_dir=tmp_path / "downloads",
        download_max_bytes=1000,
        download_timeout=3.0,
    )

    classifier = IrisClassifier(**settings.classifier_options())
    data = classifier.dataset()
    evaluation = classifier.train(data["X"], data["y"])

    assert evaluation.test_rows == 60
    assert classifier.cache_dir == tmp_path / "downloads"
    assert (classifier.download_max_bytes, classifier.download_timeout) == (1000, 3.0)


def test_classifier_options_load_the_bundled_model(settings: Settings) -> None:
    classifier = IrisClassifier.load(**settings.classifier_options())

    assert classifier.predict([[5.1, 3.5, 1.4, 0.2]])["prediction"] == [0]
    assert classifier.cache_dir == settings.cache_dir


#: The S3 secret key of these tests.
S3_SECRET = "s3-secret"  # noqa: S105 - made up


def test_workers_get_the_secrets_that_model_dump_json_masks() -> None:
    settings = Settings(
        model_dir="s3://models/mlapi",
        database_url="sqlite:///registry.sqlite3",
        s3_access_key_id="key-id",
        s3_secret_access_key=S3_SECRET,
        api_key="cli-key",
    )

    read_back = Settings(**json.loads(settings.dump_for_workers()))

    assert "s3-secret" not in settings.model_dump_json()
    assert read_back == settings
    assert read_back.s3_secret_access_key is not None
    assert read_back.s3_secret_access_key.get_secret_value() == "s3-secret"


def test_s3_options_come_from_the_settings_or_are_left_to_botocore() -> None:
    configured = Settings(
        s3_endpoint_url="http://minio:9000",
        s3_access_key_id="key-id",
        s3_secret_access_key=S3_SECRET,
        s3_region="eu-west-1",
    )
    bare = Settings()

    options = configured.storage_options("s3://models/mlapi")

    assert options["endpoint_url"] == "http://minio:9000"
    assert (options["key"], options["secret"]) == ("key-id", "s3-secret")
    assert options["client_kwargs"] == {"region_name": "eu-west-1"}
    assert {"key", "secret", "endpoint_url"}.isdisjoint(bare.storage_options("s3://models"))
    assert configured.storage_options("var/models") == {}


def test_an_s3_key_id_without_its_secret_is_refused() -> None:
    with pytest.raises(ValidationError, match="set together"):
        Settings(s3_access_key_id="key-id")
