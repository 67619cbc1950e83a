"""Contract checks on parameters and repeatability (part of :data:`~synthgen.testing.CHECKS`).

``fit`` and ``load`` leave a generator's parameters as they were, and one ``random_state``
gives one model, bit for bit, however busy the machine is while it fits.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from safetensors.numpy import load as load_arrays
from sklearn.base import clone

from synthgen.io import load

__all__ = ["check_params_unchanged", "check_repeatable_under_load"]


def _same(a: Any, b: Any, *, strict: bool = True) -> bool:
    """Deep equality of parameter values. ``strict``: containers and scalars keep their type
    (a tuple is no list, True is no 1); otherwise a tuple equals a list with the same items,
    as JSON, which has no tuples, gives them back."""
    seqs = (list, tuple)
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_same(a[k], b[k], strict=strict) for k in a)
    if isinstance(a, seqs) and isinstance(b, seqs):
        if strict and type(a) is not type(b):
            return False
        return len(a) == len(b) and all(
            _same(x, y, strict=strict) for x, y in zip(a, b, strict=True)
        )
    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        return bool(np.array_equal(a, b))
    if isinstance(a, bool) or isinstance(b, bool):
        return type(a) is type(b) and a == b
    if isinstance(a, float) and isinstance(b, float) and np.isnan(a) and np.isnan(b):
        return True
    return bool(a is b or a == b)


def _param_diff(want: dict[str, Any], got: dict[str, Any], *, strict: bool) -> list[str]:
    names = sorted(set(want) | set(got))
    return [
        f"{k}: {want.get(k, '<absent>')!r} -> {got.get(k, '<absent>')!r}"
        for k in names
        if k not in want or k not in got or not _same(want[k], got[k], strict=strict)
    ]


def check_params_unchanged(generator: Any, data: pd.DataFrame) -> None:
    """``fit`` leaves every parameter as it was, and a saved model loads with the same ones
    (``device`` excepted where ``load`` is told to override it)."""
    model = clone(generator).set_params(random_state=0)
    before = model.get_params(deep=False)
    model.fit(data)
    fitted = model.get_params(deep=False)
    diff = _param_diff(before, fitted, strict=True)
    assert not diff, f"fit changed parameters: {'; '.join(diff)}"
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "model.sgm"
        model.save(path)
        kept = load(path).get_params(deep=False)
        moved = load(path, device="cpu").get_params(deep=False)
    # JSON has no tuples: a tuple may come back as a list of the same items.
    diff = _param_diff(fitted, kept, strict=False)
    assert not diff, f"load changed parameters: {'; '.join(diff)}"
    if "device" in fitted:
        assert moved["device"] == "cpu", "load(device='cpu') did not set the device"
        moved["device"] = fitted["device"]
    diff = _param_diff(fitted, moved, strict=False)
    assert not diff, f"load(device='cpu') changed parameters: {'; '.join(diff)}"


@contextmanager
def _busy_cpu() -> Iterator[None]:
    """Other processes spinning on the CPUs this one may use, for the duration of the block."""
    n = min(len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else 1, 4)
    code = "print('ready', flush=True)\nwhile True: pass"
    procs: list[subprocess.Popen[str]] = []
    try:
        for _ in range(n):
            procs.append(
                subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
            )
        for proc in procs:  # each one spins before the block starts
            assert proc.stdout is not None and proc.stdout.readline().strip() == "ready"
        yield
    finally:
        for proc in procs:
            proc.kill()
            proc.wait()
            if proc.stdout is not None:
                proc.stdout.close()


def _saved_arrays(model: Any, folder: str, name: str) -> dict[str, np.ndarray]:
    path = Path(folder) / name
    model.save(path)
    with zipfile.ZipFile(path) as zf:
        raw = zf.read("weights.safetensors")
    return load_arrays(raw) if raw else {}


def check_repeatable_under_load(generator: Any, data: pd.DataFrame) -> None:
    """Two fits with one random_state give bit-identical weights and the same rows, also when
    other processes keep the CPUs busy during the second fit."""
    first = clone(generator).set_params(random_state=11).fit(data)
    with _busy_cpu():
        second = clone(generator).set_params(random_state=11).fit(data)
    with tempfile.TemporaryDirectory() as tmp:
        a = _saved_arrays(first, tmp, "first.sgm")
        b = _saved_arrays(second, tmp, "second.sgm")
    assert a.keys() == b.keys(), f"saved arrays differ: {sorted(a)} vs {sorted(b)}"
    for name in a:
        same = (
            a[name].dtype == b[name].dtype
            and a[name].shape == b[name].shape
            and a[name].tobytes() == b[name].tobytes()
        )
        assert same, f"array {name!r} differs between two fits with one random_state"
    pd.testing.assert_frame_equal(
        first.sample(40), second.sample(40), obj="rows of two fits with one random_state"
    )
    pd.testing.assert_frame_equal(
        first.sample(20, random_state=2), second.sample(20, random_state=2), obj="seeded rows"
    )
