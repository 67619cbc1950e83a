"""Schema inference reads an object column's missing cells once, not once per check: the
same schema, and no whole-column missing-value pass that an earlier one already made."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import synthgen as sg
from synthgen.schema import dates

N = 3_000


def _full_column_passes(monkeypatch: pytest.MonkeyPatch, n: int) -> list[str]:
    """Record every ``isna``/``notna``/``dropna`` of pandas over ``n`` object values."""
    seen: list[str] = []
    for name in ("isna", "notna", "dropna"):
        original = getattr(pd.Series, name)

        def spy(self, *args, _name=name, _original=original, **kwargs):
            if len(self) == n and self.dtype == object:
                seen.append(_name)
            return _original(self, *args, **kwargs)

        monkeypatch.setattr(pd.Series, name, spy)
    return seen


def test_a_complete_label_column_is_checked_for_missing_cells_once(monkeypatch):
    """Once, before the column's own inference: it, the missing-together search and the
    date, category and semantic checks all reuse what that pass found (six passes before,
    then two: one by the inference, one by the search)."""
    labels = np.random.default_rng(0).choice(["red", "green", "blue"], N).astype(object)
    frame = pd.DataFrame({"colour": labels, "x": np.arange(N) % 7 + 0.5})
    passes = _full_column_passes(monkeypatch, N)
    schema = sg.Schema.infer(frame)
    monkeypatch.undo()
    assert schema["colour"].categories == ["blue", "green", "red"]
    assert passes == ["isna"]


def test_dates_after_a_long_run_of_missing_cells_are_still_found(monkeypatch):
    """The sample that decides whether text is dates comes from the first rows, and from the
    whole column when those hold too few values."""
    values = pd.Series(pd.date_range("2020-01-01", periods=N, freq="D").strftime("%Y-%m-%d"))
    values = values.astype(object)
    values[: dates._LEAD_ROWS + 100] = None
    spec = sg.Schema.infer(pd.DataFrame({"day": values}), structure=False)["day"]
    assert spec.kind == "datetime"
    assert spec.missing_rate == pytest.approx((dates._LEAD_ROWS + 100) / N)


@pytest.mark.parametrize("gap", [None, 5])
def test_emails_are_detected_with_and_without_missing_cells(gap):
    emails = pd.Series([f"user{i}@example.com" for i in range(N)], dtype=object)
    if gap is not None:
        emails[::gap] = None
    ids = pd.Series([f"u{i}" if i % 9 else None for i in range(N)], dtype=object)
    frame = pd.DataFrame({"email": emails, "ref": ids})
    schema = sg.Schema.infer(frame, kinds={"ref": "id"})
    assert schema["email"].semantic == "email"
    assert schema["email"].missing_rate == pytest.approx(0.0 if gap is None else 0.2)
