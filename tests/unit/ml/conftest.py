"""One OpenMP thread per test process: the suite runs on two xdist workers over two cores, and
scikit-learn's histogram boosting and k-means slow down several-fold when their threads compete."""

from __future__ import annotations

import pytest
from threadpoolctl import threadpool_limits


@pytest.fixture(autouse=True, scope="session")
def _single_openmp_thread():
    with threadpool_limits(limits=1, user_api="openmp"):
        yield
