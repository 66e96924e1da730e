"""The TLS context ``mlapi serve`` listens with, and where its key and certificate come from."""

import ssl
from pathlib import Path

import pytest

from mlapi.cli.tls import CIPHERS, TLSRequiredError, harden, tls_files
from mlapi.settings import Settings

# A permissive context stands in for whatever defaults uvicorn and OpenSSL would give.
pytestmark = pytest.mark.filterwarnings("ignore:ssl.TLSVersion.TLSv1:DeprecationWarning")


def _permissive() -> ssl.SSLContext:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = ssl.TLSVersion.TLSv1
    context.set_ciphers("ALL:@SECLEVEL=0")
    return context


def test_harden_sets_the_floor_and_the_ciphers_whatever_the_defaults() -> None:
    context = harden(object(), _permissive)
    assert context.minimum_version == ssl.TLSVersion.TLSv1_2
    tls_1_2 = {
        cipher["name"] for cipher in context.get_ciphers() if cipher["protocol"] != "TLSv1.3"
    }
    assert tls_1_2 == set(CIPHERS.split(":"))
    assert all(cipher["aead"] for cipher in context.get_ciphers())


def _settings(tmp_path: Path, **values: object) -> Settings:
    return Settings(model_dir=str(tmp_path / "models"), **values)  # type: ignore[arg-type]


def test_no_files_means_plain_http_unless_tls_is_required(tmp_path: Path) -> None:
    assert tls_files(_settings(tmp_path)) is None
    with pytest.raises(TLSRequiredError, match="MLAPI_SSL_KEYFILE"):
        tls_files(_settings(tmp_path, require_tls=True))


def test_a_missing_tls_folder_changes_nothing(tmp_path: Path) -> None:
    assert tls_files(_settings(tmp_path, tls_dir=tmp_path / "not-mounted")) is None


def test_named_files_win_over_the_tls_folder(tmp_path: Path) -> None:
    (tmp_path / "tls").mkdir()
    named = _settings(
        tmp_path,
        tls_dir=tmp_path / "tls",
        ssl_keyfile=tmp_path / "key.pem",
        ssl_certfile=tmp_path / "cert.pem",
    )
    assert tls_files(named) == (tmp_path / "key.pem", tmp_path / "cert.pem")
