"""Fixtures shared by the tests of the ml layer."""

from collections.abc import Iterator

import pytest
from threadpoolctl import threadpool_limits


@pytest.fixture(scope="package", autouse=True)
def _one_openmp_thread() -> Iterator[None]:
    """Fit on one OpenMP thread while the ml tests run.

    On Iris's 150 rows, more threads only wait for each other: on a busy machine
    histogram gradient boosting then takes seconds instead of a tenth of one. Results
    do not depend on the number of threads.
    """
    with threadpool_limits(limits=1, user_api="openmp"):
        yield
