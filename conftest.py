"""Set-up for every test and doctest under the repository root (``tests``, the package's
doctests, ``benchmarks``): what they write to the system's temporary folder lands in one of
pytest's own, which pytest removes after a few runs.

Many docstring examples make a folder with ``tempfile.mkdtemp()`` (runnable as they stand
in a user's session) and each test run left one of each behind in ``/tmp``; so did any code
that made a temporary folder and forgot it.
"""

from __future__ import annotations

import tempfile

import pytest


@pytest.fixture(autouse=True)
def _temporary_folder(tmp_path_factory, monkeypatch):
    """``tempfile``'s folder, and ``TMPDIR`` for child processes, inside pytest's base
    temporary folder for the test (a folder of its own, beside its ``tmp_path``)."""
    folder = tmp_path_factory.mktemp("tempfile")
    monkeypatch.setattr(tempfile, "tempdir", str(folder))
    monkeypatch.setenv("TMPDIR", str(folder))
