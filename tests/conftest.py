"""Shared fixtures."""

from __future__ import annotations

import tempfile
from pathlib import Path

import pandas as pd
import pytest

from synthgen.datasets import load_adult
from synthgen.testing import make_mixed_table


@pytest.fixture(autouse=True)
def _temporary_folder(request, tmp_path_factory, monkeypatch):
    """``tempfile``'s folder, and ``TMPDIR`` for child processes, inside pytest's base
    temporary folder (a folder of the test's own beside its ``tmp_path``), which pytest
    prunes after a few runs: what code under test forgets there never piles up in the
    system's temporary folder.

    Not for the Ray tests (``xdist_group("ray")``): a local Ray outlives one test, and its
    sockets under that deeper folder would pass the 107-byte limit of a Unix socket path."""
    group = request.node.get_closest_marker("xdist_group")
    if group is not None and "ray" in group.args:
        return
    folder = tmp_path_factory.mktemp("tempfile")
    monkeypatch.setattr(tempfile, "tempdir", str(folder))
    monkeypatch.setenv("TMPDIR", str(folder))


@pytest.fixture(scope="session")
def adult() -> pd.DataFrame:
    return load_adult()


@pytest.fixture()
def mixed() -> pd.DataFrame:
    return make_mixed_table(150)


@pytest.fixture()
def one_thread():
    """One intra-op thread (torch and BLAS) for the test: tiny networks gain nothing from
    more, and on a shared, loaded machine every parallel op would wait for a descheduled
    worker. Opt in with ``pytestmark = pytest.mark.usefixtures("one_thread")``; not autouse,
    so tests that check torch is never imported stay free of it."""
    from synthgen.training.threads import thread_limit  # imports torch: only where asked

    with thread_limit(1):
        yield


@pytest.fixture(scope="module")
def local_ray():
    """A local Ray of 2 CPUs whose workers import this checkout's synthgen, one thread each."""
    import ray

    repo = Path(__file__).resolve().parents[1]
    ray.init(
        num_cpus=2,
        include_dashboard=False,
        log_to_driver=False,
        runtime_env={"env_vars": {"PYTHONPATH": str(repo), "OMP_NUM_THREADS": "1"}},
    )
    yield
    ray.shutdown()
