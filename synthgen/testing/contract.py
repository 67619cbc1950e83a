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

from synthgen.exceptions import ConditionError, ConfigurationError, NotFittedError
from synthgen.io import load
from synthgen.testing.bigdata import check_chunked_sample, check_streamed_fit
from synthgen.testing.stability import check_params_unchanged, check_repeatable_under_load
from synthgen.testing.structure import check_structure_kept
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
            unseen -= {spec.other_label}  # the placeholder of labels too rare to store
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


def _fitted(generator: Any, data: pd.DataFrame, schema: Any = None) -> Any:
    return _fresh(generator, random_state=0).fit(data, schema=schema)


def _a_label(data: pd.DataFrame, model: Any) -> tuple[str, Any]:
    """A categorical column and its most common label."""
    spec = next(c for c in model.schema_ if c.kind == "categorical" and not c.has_missing)
    return spec.name, data[spec.name].value_counts().index[0]


def _a_number(model: Any) -> str:
    return next(c.name for c in model.schema_ if c.kind == "numeric")


def check_conditions(generator: Any, data: pd.DataFrame) -> None:
    """Equality, set and range conditions hold on every returned row."""
    model = _fitted(generator, data)
    col, label = _a_label(data, model)
    out = model.sample(40, conditions={col: label})
    assert len(out) == 40 and out[col].eq(label).all(), f"equality on {col!r} not met"
    num = _a_number(model)
    low, high = data[num].quantile([0.25, 0.75]).tolist()
    labels = data[col].value_counts().index[:2].tolist()
    from synthgen.sampling.conditions import Range

    out = model.sample(40, conditions={num: Range(low, high), col: labels})
    assert out[num].between(low, high).all(), f"range on {num!r} not met"
    assert out[col].isin(labels).all(), f"set on {col!r} not met"
    assert list(out.columns) == list(data.columns)
    for name in data.columns:
        assert out[name].dtype == data[name].dtype, f"column {name!r}: dtype changed"


def check_per_row_conditions(generator: Any, data: pd.DataFrame) -> None:
    """A frame of per-row conditions: set cells are kept exactly, one row per request."""
    model = _fitted(generator, data)
    col, _ = _a_label(data, model)
    num = _a_number(model)
    requests = data[[col, num]].head(20).copy()
    # Within the model's range: a DP model's released range may leave out real extremes.
    spec = model.schema_[num]
    low, high = float(spec.minimum), float(spec.maximum)
    if pd.api.types.is_integer_dtype(requests[num].dtype):
        low, high = np.ceil(low), np.floor(high)
    requests[num] = requests[num].clip(low, high).astype(requests[num].dtype)
    requests.loc[requests.index[::2], col] = None
    requests.loc[requests.index[1::3], num] = np.nan
    out = model.sample(conditions=requests.reset_index(drop=True))
    assert len(out) == 20, "one row per condition row expected"
    for name in (col, num):
        has = requests[name].notna().to_numpy()
        got = out[name].to_numpy(dtype=object)[has]
        want = requests[name].to_numpy(dtype=object)[has]
        assert (got == want).all(), f"per-row values of {name!r} not kept"


def check_impute(generator: Any, data: pd.DataFrame) -> None:
    """impute fills every hole and keeps every observed cell."""
    model = _fitted(generator, data)
    col, _ = _a_label(data, model)
    num = _a_number(model)
    holes = data.head(30).copy()
    holes[num] = holes[num].astype(float)
    holes.loc[holes.index[::2], num] = np.nan
    holes[col] = holes[col].astype(object)
    holes.loc[holes.index[::3], col] = None
    before = holes.copy()
    done = model.impute(holes)
    pd.testing.assert_frame_equal(holes, before, obj="impute input")
    assert not done[[num, col]].isna().any().any(), "impute left holes"
    observed = before.notna()
    for name in data.columns:
        keep = observed[name].to_numpy()
        got = done[name].to_numpy(dtype=object)[keep]
        want = before[name].to_numpy(dtype=object)[keep]
        assert (got == want).all(), f"impute changed observed cells of {name!r}"


def check_constraints(generator: Any, data: pd.DataFrame) -> None:
    """Every sampled row meets every constraint of the schema, built-in or custom."""
    from synthgen.schema import Bounds, FixedCombinations, Inequality, Predicate, Schema

    model = _fresh(generator, random_state=0)
    schema = Schema.infer(data)
    num = next(c.name for c in schema if c.kind == "numeric")
    col = next(c.name for c in schema if c.kind == "categorical" and not c.has_missing)
    low, high = data[num].quantile([0.1, 0.9]).tolist()
    data = data[data[num].isna() | data[num].between(low, high)]
    cat2 = next(c.name for c in schema if c.kind == "categorical" and c.name != col)
    dates = [c.name for c in schema if c.kind in ("numeric", "datetime")]
    rules = [Bounds(num, low, high), FixedCombinations([col, cat2])]
    if len(dates) >= 2:
        first, second = dates[0], dates[1]
        ok = (data[first] <= data[second]) | data[first].isna() | data[second].isna()
        if ok.all():
            rules.append(Inequality(first, "<=", second))
    rules.append(Predicate(lambda f: f[col].notna(), name=f"{col} present"))
    for rule in rules:
        schema.add_constraint(rule)
    model.fit(data, schema=schema)
    out = model.sample(60)
    for rule in rules:
        assert rule.is_satisfied(out).all(), f"{rule!r} not met by every row"


def check_condition_errors(generator: Any, data: pd.DataFrame) -> None:
    """Invalid and infeasible conditions raise ConditionError quickly."""
    from synthgen.sampling.conditions import Range

    model = _fitted(generator, data)
    col, _ = _a_label(data, model)
    num = _a_number(model)
    top = float(data[num].max())
    bad = [
        {"no such column": 1},
        {col: "a label never seen"},
        {num: Range(top + 1, top + 2)},
        {num: "text"},
    ]
    for conditions in bad:
        try:
            model.sample(5, conditions=conditions)
        except ConditionError:
            continue
        raise AssertionError(f"conditions {conditions!r} did not raise ConditionError")
    lo = float(data[num].min())
    if model.schema_[num].integer:
        # Between two whole numbers: no row can ever meet it; must end, not hang.
        try:
            model.sample(5, conditions={num: Range(lo + 0.2, lo + 0.4)})
        except ConditionError:
            return
        raise AssertionError("an infeasible range did not raise ConditionError")


CHECKS: list[Callable[[Any, pd.DataFrame], None]] = [
    check_params_stored,
    check_not_fitted,
    check_fit_sample,
    check_deterministic,
    check_no_mutation,
    check_save_load,
    check_bad_n_samples,
    check_conditions,
    check_per_row_conditions,
    check_impute,
    check_constraints,
    check_condition_errors,
    check_structure_kept,
    check_params_unchanged,
    check_repeatable_under_load,
    check_streamed_fit,
    check_chunked_sample,
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
