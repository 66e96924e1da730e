"""ModelReader: large model files are read in a helper process, with the same checks."""

import numpy as np
import pytest

from mlapi.ml import ModelFileError
from mlapi.ml.persistence import DEFAULT_TRUSTED_TYPES, bundled_model_bytes, loads
from mlapi.serving import reading
from mlapi.serving.reading import ModelReader

ROWS = np.array([[5.1, 3.5, 1.4, 0.2], [6.7, 3.0, 5.2, 2.3]])

#: Calls of :func:`_recorded_loads` in this process; a helper process has its own list.
CALLS: list[int] = []


def _recorded_loads(data: bytes, trusted: object) -> object:
    CALLS.append(len(data))
    return loads(data, trusted)  # type: ignore[arg-type]


@pytest.fixture
def recorded(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    CALLS.clear()
    monkeypatch.setattr(reading, "loads", _recorded_loads)
    return CALLS


def test_a_large_file_is_read_in_another_process_into_the_same_model(
    recorded: list[int],
) -> None:
    data = bundled_model_bytes()
    here, _ = loads(data, DEFAULT_TRUSTED_TYPES)

    estimator, metadata = ModelReader(helper_min_bytes=len(data))(data, DEFAULT_TRUSTED_TYPES)

    assert recorded == []  # not read in this process
    assert metadata["class_names"] == ["setosa", "versicolor", "virginica"]
    np.testing.assert_array_equal(estimator.predict_proba(ROWS), here.predict_proba(ROWS))


def test_a_small_file_is_read_in_place(recorded: list[int]) -> None:
    data = bundled_model_bytes()

    ModelReader(helper_min_bytes=len(data) + 1)(data, DEFAULT_TRUSTED_TYPES)

    assert recorded == [len(data)]


@pytest.mark.parametrize(
    ("trusted", "match"),
    [((), "untrusted types"), (DEFAULT_TRUSTED_TYPES, "not a readable model file")],
)
def test_the_helper_refuses_what_a_read_in_place_refuses(
    trusted: tuple[str, ...], match: str
) -> None:
    data = bundled_model_bytes()
    if trusted:
        data = data[: len(data) // 2]  # truncated

    with pytest.raises(ModelFileError, match=match):
        ModelReader(helper_min_bytes=0)(data, trusted)
