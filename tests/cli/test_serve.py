"""``mlapi serve``'s metrics folder: empty at each start, a temporary one removed at the end."""

from pathlib import Path

from mlapi.cli.serve import metrics_directory
from mlapi.settings import Settings


def test_a_configured_metrics_folder_is_emptied_of_metric_files_only(tmp_path: Path) -> None:
    folder = tmp_path / "metrics"
    folder.mkdir()
    (folder / "counter_123.db").write_bytes(b"stale counts of a previous server")
    (folder / "notes.txt").write_text("not ours")
    settings = Settings(model_dir=str(tmp_path / "models"), metrics_dir=folder)

    with metrics_directory(settings) as used:
        left = sorted(path.name for path in used.iterdir())

    assert used == folder
    assert left == ["notes.txt"]
    assert folder.is_dir()  # the operator's folder stays


def test_a_missing_configured_folder_is_made(tmp_path: Path) -> None:
    settings = Settings(model_dir=str(tmp_path / "models"), metrics_dir=tmp_path / "new" / "m")
    with metrics_directory(settings) as used:
        assert used.is_dir()


def test_without_a_configured_folder_a_fresh_one_lives_as_long_as_the_server(
    tmp_path: Path,
) -> None:
    settings = Settings(model_dir=str(tmp_path / "models"))
    with metrics_directory(settings) as first:
        (first / "counter_1.db").write_bytes(b"x")
        with metrics_directory(settings) as second:
            assert first != second
            assert list(second.iterdir()) == []
    assert not first.exists()
    assert not second.exists()
