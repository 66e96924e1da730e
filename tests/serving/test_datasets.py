"""Data sets for training jobs: resolved, fetched, kept by name, and nothing else kept."""

import zipfile
from pathlib import Path

import pytest

from mlapi.ml.errors import DatasetError, FieldError, Input, InvalidInputError
from mlapi.ml.packing import pack
from mlapi.serving.datasets import Datasets
from mlapi.serving.records import DatasetSource
from mlapi.settings import Settings

CSV = "size,colour,kind\n1.0,red,a\n1.2,red,a\n0.9,blue,a\n5.0,blue,b\n5.5,red,b\n4.8,blue,b\n"


@pytest.fixture
def local(tmp_path: Path) -> Settings:
    """Settings that let packages come from ``file:`` URLs, as a local CLI does."""
    return Settings(
        model_dir=str(tmp_path / "models"), cache_dir=tmp_path / "cache", dataset_allow_file=True
    )


def package(folder: Path, name: str, text: str = CSV) -> Path:
    """Pack ``text`` as the package ``name.zip`` in ``folder``."""
    folder.mkdir(exist_ok=True)
    (folder / f"{name}.csv").write_text(text)
    output = folder / f"{name}.zip"
    pack(folder / f"{name}.csv", "kind", output)
    return output


def cached_files(settings: Settings) -> set[str]:
    folder = settings.cache_dir / "datasets"
    return {path.name for path in folder.iterdir()} if folder.exists() else set()


def test_no_choice_resolves_to_the_configured_default(settings: Settings) -> None:
    assert Datasets(settings).resolve(None) == DatasetSource(name="iris")


def test_a_url_as_the_configured_default_resolves_to_that_url(tmp_path: Path) -> None:
    settings = Settings(cache_dir=tmp_path, default_dataset="https://example.org/x.zip")

    assert Datasets(settings).resolve(None) == DatasetSource(url="https://example.org/x.zip")


def test_an_unknown_name_is_refused_before_any_job_is_queued(settings: Settings) -> None:
    with pytest.raises(InvalidInputError) as caught:
        Datasets(settings).resolve("wine")

    assert caught.value.errors == [
        FieldError(Input.DATASET, ("name",), "no data set is named 'wine': give its url", "unknown")
    ]


def test_file_urls_are_refused_unless_the_settings_allow_them(settings: Settings) -> None:
    with pytest.raises(InvalidInputError) as caught:
        Datasets(settings).resolve(DatasetSource(url="file:///etc/passwd"))

    assert caught.value.errors[0].location == ("url",)
    assert "['http', 'https']" in caught.value.errors[0].message


def test_a_fetched_package_is_kept_under_its_name_and_trains_again_by_name(
    local: Settings, tmp_path: Path
) -> None:
    datasets = Datasets(local)
    url = package(tmp_path / "src", "shapes").as_uri()

    fetched, origin = datasets.load(datasets.resolve(url))
    again, same_origin = datasets.load(datasets.resolve("shapes"))

    assert fetched["name"] == again["name"] == "shapes"
    assert fetched["class_names"] == again["class_names"] == ["a", "b"]
    assert origin == same_origin
    assert origin.url == url
    assert len(cached_files(local)) == 2  # the package and its name


def test_fetching_a_name_again_replaces_its_package_and_removes_the_old_file(
    local: Settings, tmp_path: Path
) -> None:
    datasets = Datasets(local)
    datasets.load(DatasetSource(url=package(tmp_path / "v1", "shapes").as_uri()))
    changed = CSV + "5.1,red,b\n"

    _, origin = datasets.load(
        DatasetSource(url=package(tmp_path / "v2", "shapes", changed).as_uri())
    )

    assert len(datasets.load(DatasetSource(name="shapes"))[0]["y"]) == 7
    assert cached_files(local) == {"shapes.json", f"{origin.sha256}-shapes.zip"}


def test_a_package_naming_itself_after_a_bundled_data_set_is_not_kept(
    local: Settings, tmp_path: Path
) -> None:
    datasets = Datasets(local)

    dataset, _ = datasets.load(DatasetSource(url=package(tmp_path / "src", "iris").as_uri()))

    assert dataset["class_names"] == ["a", "b"]
    assert cached_files(local) == set()
    assert datasets.load(DatasetSource(name="iris"))[0]["class_names"][0] == "setosa"


def test_a_package_that_fails_leaves_nothing_in_the_cache(local: Settings, tmp_path: Path) -> None:
    broken = tmp_path / "broken.zip"
    with zipfile.ZipFile(broken, "w") as archive:
        archive.writestr("../evil.csv", "x")

    with pytest.raises(DatasetError, match="points outside the package"):
        Datasets(local).load(DatasetSource(url=broken.as_uri()))

    assert cached_files(local) == set()


def test_a_kept_package_changed_on_disk_is_refused_by_name(local: Settings, tmp_path: Path) -> None:
    datasets = Datasets(local)
    _, origin = datasets.load(DatasetSource(url=package(tmp_path / "src", "shapes").as_uri()))
    (local.cache_dir / "datasets" / f"{origin.sha256}-shapes.zip").write_bytes(b"tampered")

    with pytest.raises(DatasetError, match="gone or changed"):
        datasets.load(DatasetSource(name="shapes"))


def test_a_url_that_does_not_parse_is_refused(settings: Settings) -> None:
    with pytest.raises(InvalidInputError) as caught:
        Datasets(settings).resolve(DatasetSource(url="http://[::1/x.zip"))

    assert caught.value.errors[0].location == ("url",)
