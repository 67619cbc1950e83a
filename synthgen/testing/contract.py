"""The contract every generator must meet, as one callable suite.

:func:`check_generator` runs each check on a fresh clone of the generator it is given and raises
``AssertionError`` naming the first check that fails. ``tests/contract/`` runs it for every
registered generator, so a new family is covered by registering it.
"""

from __future__ import annotations

import random
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import clone

from synthgen.exceptions import ConfigurationError, NotFittedError
from synthgen.io import load
from synthgen.testing.toys import make_mixed_table

__all__ = ["CHECKS", "check_generator"]


def _fresh(generator: Any, **params: Any) -> Any:
    out = clone(generator)
    if params:
        out.set_params(**params)
    return out


def check_params_stored(generator: Any, data: pd.DataFrame) -> None:
    """``__init__`` stores parameters unchanged; get/set_params and clone round-trip."""
    params = generator.get_params()
    twin = clone(generator)
    assert twin.get_params() == params, "clone changed the parameters"
    assert not any(k.endswith("_") for k in vars(twin)), "__init__ set fitted attributes"
    twin.set_params(random_state=123)
    assert twin.get_params()["random_state"] == 123, "set_params did not set random_state"


def check_not_fitted(generator: Any, data: pd.DataFrame) -> None:
    """Sampling before ``fit`` raises NotFittedError."""
    try:
        _fresh(generator).sample(5)
    except NotFittedError:
        return
    raise AssertionError("sample() before fit() did not raise NotFittedError")


def check_fit_sample(generator: Any, data: pd.DataFrame) -> None:
    """Columns, order, dtypes, categories, bounds and the missing pattern come back."""
    model = _fresh(generator, random_state=0)
    assert model.fit(data) is model, "fit must return self"
    out = model.sample(len(data))
    assert list(out.columns) == list(data.columns), "columns or their order changed"
    assert len(out) == len(data), f"asked for {len(data)} rows, got {len(out)}"
    for name in data.columns:
        assert out[name].dtype == data[name].dtype, (
            f"column {name!r}: dtype {out[name].dtype} != {data[name].dtype}"
        )
        real, syn = data[name], out[name]
        if not real.isna().any():
            assert not syn.isna().any(), f"column {name!r}: NaN appeared where data had none"
        if real.isna().all():
            assert syn.isna().all(), f"column {name!r}: an all-missing column got values"
        spec = model.schema_[name]
        if spec.kind in ("categorical", "constant"):
            unseen = set(syn.dropna().unique()) - set(real.dropna().unique())
            if isinstance(real.dtype, pd.CategoricalDtype):
                unseen -= set(real.cat.categories)
            assert not unseen, f"column {name!r}: labels never seen in the data: {unseen}"
        if spec.kind == "numeric":
            vals = syn.dropna().to_numpy(dtype=float)
            assert vals.min() >= spec.minimum and vals.max() <= spec.maximum, (
                f"column {name!r}: values outside the data's bounds"
            )
            if spec.integer:
                assert np.all(vals == np.round(vals)), f"column {name!r}: lost integer-ness"
        if spec.kind == "id":
            assert syn.is_unique, f"column {name!r}: generated identifiers are not unique"


def check_deterministic(generator: Any, data: pd.DataFrame) -> None:
    """Same random_state, same rows; the process-wide RNGs are not touched."""
    import torch

    np_state = np.random.get_state()[1].copy()
    py_state = random.getstate()
    torch_state = torch.get_rng_state().clone()
    first = _fresh(generator, random_state=7).fit(data)
    second = _fresh(generator, random_state=7).fit(data)
    a, b = first.sample(40), second.sample(40)
    pd.testing.assert_frame_equal(a, b, obj="two fits with one random_state")
    pd.testing.assert_frame_equal(
        first.sample(30, random_state=5), first.sample(30, random_state=5), obj="sample seed"
    )
    assert np.array_equal(np.random.get_state()[1], np_state), "global numpy RNG was used"
    assert random.getstate() == py_state, "global random module state was used"
    assert torch.equal(torch.get_rng_state(), torch_state), "global torch RNG was used"


def check_no_mutation(generator: Any, data: pd.DataFrame) -> None:
    """The input frame is not modified."""
    before = data.copy(deep=True)
    _fresh(generator, random_state=0).fit(data)
    pd.testing.assert_frame_equal(data, before, obj="input data after fit")


def check_save_load(generator: Any, data: pd.DataFrame) -> None:
    """A saved and loaded model samples the same rows as the original."""
    model = _fresh(generator, random_state=0).fit(data)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "model.sgm"
        model.save(path)
        again = load(path, device="cpu")
    pd.testing.assert_frame_equal(
        again.sample(25, random_state=1), model.sample(25, random_state=1), obj="after load"
    )
    assert again.schema_ == model.schema_, "schema changed through save/load"


def check_bad_n_samples(generator: Any, data: pd.DataFrame) -> None:
    """sample(0), negative and non-integer counts raise ConfigurationError."""
    model = _fresh(generator, random_state=0).fit(data)
    for bad in (0, -3, 2.5, "10"):
        try:
            model.sample(bad)
        except ConfigurationError:
            continue
        raise AssertionError(f"sample({bad!r}) did not raise ConfigurationError")


CHECKS: list[Callable[[Any, pd.DataFrame], None]] = [
    check_params_stored,
    check_not_fitted,
    check_fit_sample,
    check_deterministic,
    check_no_mutation,
    check_save_load,
    check_bad_n_samples,
]


def check_generator(generator: Any, data: pd.DataFrame | None = None) -> None:
    """Run every contract check on ``generator`` (an unfitted instance).

    Parameters
    ----------
    generator : BaseGenerator
        The generator to check; it is cloned for each check, never fitted itself.
    data : DataFrame, optional
        Table to use; a small mixed-kind table by default.

    Examples
    --------
    >>> import synthgen as sg
    >>> check_generator(sg.make_generator("marginals"))
    """
    data = make_mixed_table(120) if data is None else data
    for check in CHECKS:
        try:
            check(generator, data)
        except AssertionError as err:
            raise AssertionError(f"{check.__name__}: {err}") from err
