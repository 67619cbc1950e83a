"""Check the frames given to :func:`~synthgen.evaluation.evaluate` and bring them to one form.

Every column used by the metrics is either *numeric* (numbers and datetimes, the latter as
nanoseconds since the epoch) or *categorical* (categories and free text). Id and constant
columns are left out. Categorical values are coded jointly across the frames so that equal
labels get equal integer codes; missing values get a code of their own (a missing value is part
of the data, and two missing cells are equal). The input frames are never modified.

High-cardinality columns (more than :data:`MAX_EXACT_CODES` codes: merchants, zip codes, free
text) are coded by frequency rank in the real frame (code 0 is its most frequent label), so
that the metrics that cannot afford a code per label (one-hot distances, contingency tables,
classifiers) see the frequent labels exactly and share one code among the rest
(:meth:`PreparedData.compact_codes`), in memory linear in the rows.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from synthgen.exceptions import EvaluationError, SynthgenError
from synthgen.schema import Schema, check_frame, numeric_values
from synthgen.schema.dates import as_datetimes, from_epoch, to_epoch

__all__ = ["FRAMES", "MAX_EXACT_CODES", "MIN_HOLDOUT_ROWS", "PreparedData", "prepare"]

#: Fewest holdout rows accepted: the holdout is the yardstick of several metrics and the
#: control set of the privacy attacks, so a tiny one would give meaningless numbers.
MIN_HOLDOUT_ROWS = 20

#: Categorical columns with more codes are high-cardinality: compact codes keep the
#: ``MAX_EXACT_CODES - 1`` most frequent real labels, one code for the others and one for missing.
MAX_EXACT_CODES = 249

#: Names of the frames, in order.
FRAMES: tuple[str, ...] = ("real", "synthetic", "holdout")


@dataclass
class PreparedData:
    """The frames of an evaluation in a common, checked form.

    Attributes
    ----------
    frames : dict
        ``"real"``, ``"synthetic"`` and (if given) ``"holdout"``: copies restricted to the used
        columns, datetimes as ``datetime64[ns]``, numeric columns as floats.
    numeric, categorical : list of str
        Used columns by role (datetimes are numeric, text is categorical).
    kinds : dict
        Used column -> schema kind.
    excluded : dict
        Left-out column -> reason.
    num : dict
        Frame name -> float array ``(n_rows, len(numeric))`` (datetimes in ns; NaN = missing).
    codes : dict
        Frame name -> int array ``(n_rows, len(categorical))`` of joint category codes.
    categories : dict
        Categorical column -> list of labels, indexed by code (``None`` = missing).
    target : str or None
        The target column.
    copies : dict
        Frame name -> whether each of its rows equals a real row, set where the real frame
        was sampled (:func:`synthgen.evaluation.rowcap.copies_of`: sought among every real
        row as given); empty otherwise.
    """

    frames: dict[str, pd.DataFrame]
    numeric: list[str]
    categorical: list[str]
    kinds: dict[str, str]
    excluded: dict[str, str]
    num: dict[str, np.ndarray]
    codes: dict[str, np.ndarray]
    categories: dict[str, list[Any]]
    target: str | None
    notes: list[str] = field(default_factory=list)
    specs: dict[str, Any] = field(default_factory=dict)
    copies: dict[str, np.ndarray] = field(default_factory=dict)
    # per categorical column, its labels as an index (its hash table built once for encode)
    _labels: dict[str, pd.Index] = field(default_factory=dict, repr=False, compare=False)

    @property
    def columns(self) -> list[str]:
        """Used columns in the order of the real frame."""
        return [c for c in self.frames["real"].columns]

    @property
    def has_holdout(self) -> bool:
        """Whether a holdout frame was given."""
        return "holdout" in self.frames

    def n_rows(self, frame: str) -> int:
        """Number of rows of one frame."""
        return len(self.frames[frame])

    def take(self, frame: str, rows: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Numeric and code arrays of ``frame``, optionally restricted to ``rows``."""
        num, codes = self.num[frame], self.codes[frame]
        if rows is None:
            return num, codes
        return num[rows], codes[rows]

    def encode(self, frame: pd.DataFrame, what: str) -> tuple[np.ndarray, np.ndarray]:
        """Numeric and code arrays of another frame with these columns, coded like the prepared
        frames (a label they do not hold gets the code ``len(categories[column])``; a missing
        cell the missing code, or that same code when the prepared frames had no missing cell).

        The privacy attacks use it for the rows a shadow generator makes.

        Examples
        --------
        >>> df = pd.DataFrame({"x": [1.5, 2.5], "c": ["a", "b"]})
        >>> prep = prepare(df, df)
        >>> num, codes = prep.encode(pd.DataFrame({"x": [3.0], "c": ["z"]}), "shadow")
        >>> num.tolist(), codes.tolist()
        ([[3.0]], [[2]])
        """
        missing = [c for c in self.kinds if c not in frame.columns]
        if missing:
            raise EvaluationError(f"{what} lacks the evaluated column(s) {missing!r}")
        nums = [
            _to_numeric(frame[c], c, what, self.kinds[c], self.specs.get(c)).to_numpy(dtype=float)
            for c in self.numeric
        ]
        num = np.column_stack(nums) if nums else np.empty((len(frame), 0))
        codes = np.empty((len(frame), len(self.categorical)), dtype=np.int64)
        for j, name in enumerate(self.categorical):
            cats = self.categories[name]
            if name not in self._labels:  # ``None`` (missing) is last when present
                self._labels[name] = pd.Index(cats[:-1] if None in cats else cats, dtype=object)
            labels = self._labels[name]
            missing = cats.index(None) if None in cats else len(cats)
            col = frame[name].astype(object)
            present = col.notna().to_numpy()
            found = labels.get_indexer(col.to_numpy())
            codes[:, j] = np.where(present, np.where(found >= 0, found, len(cats)), missing)
        return num, codes

    def compact_codes(self, frame: str, rows: np.ndarray | None = None) -> np.ndarray:
        """Codes of ``frame`` with at most :data:`MAX_EXACT_CODES` + 1 codes per column: in a
        high-cardinality column the labels past the most frequent share one code, missing
        keeps its own (the last); other columns are unchanged."""
        codes = self.codes[frame] if rows is None else self.codes[frame][rows]
        out = codes
        for j, name in enumerate(self.categorical):
            if not self.high_cardinality(name):
                continue
            if out is codes:
                out = codes.copy()
            cats = self.categories[name]
            missing = len(cats) - 1 if cats[-1] is None else -1
            col = codes[:, j]
            out[:, j] = np.where(
                col == missing, MAX_EXACT_CODES, np.minimum(col, MAX_EXACT_CODES - 1)
            )
        return out

    def n_compact(self, name: str) -> int:
        """Number of codes of a categorical column in :meth:`compact_codes`."""
        return MAX_EXACT_CODES + 1 if self.high_cardinality(name) else len(self.categories[name])

    def high_cardinality(self, name: str) -> bool:
        """Whether a categorical column has more than :data:`MAX_EXACT_CODES` labels."""
        cats = self.categories[name]
        return len(cats) - int(bool(cats) and cats[-1] is None) > MAX_EXACT_CODES


def _check_frame(data: Any, what: str) -> pd.DataFrame:
    return check_frame(data, what=what, error=EvaluationError)


def _check_columns(real: pd.DataFrame, other: pd.DataFrame, what: str) -> None:
    missing = [c for c in real.columns if c not in other.columns]
    extra = [c for c in other.columns if c not in real.columns]
    if missing or extra:
        parts = []
        if missing:
            parts.append(f"missing column(s) {missing!r}")
        if extra:
            parts.append(f"unexpected column(s) {extra!r}")
        raise EvaluationError(f"{what} does not have the columns of real: {'; '.join(parts)}")


def _to_numeric(col: pd.Series, name: str, what: str, kind: str, spec: Any) -> pd.Series:
    """A numeric or datetime column as float (datetime: ns since the epoch, any year, text
    in the spec's formats, see :mod:`synthgen.schema.dates`)."""
    try:
        if kind == "datetime":
            return pd.Series(to_epoch(as_datetimes(col, spec), "ns"), index=col.index)
        if pd.api.types.is_bool_dtype(col.dtype):
            return col.astype(float)
        if pd.api.types.is_timedelta64_dtype(col.dtype):
            return pd.Series(numeric_values(col), index=col.index)
        return pd.to_numeric(col, errors="raise").astype(float)
    except (ValueError, TypeError) as exc:
        raise EvaluationError(
            f"{what}: column {name!r} should hold {kind} values but cannot be read as such ({exc})"
        ) from exc


def prepare(
    real: Any,
    synthetic: Any,
    holdout: Any = None,
    *,
    target: str | None = None,
    schema: Schema | None = None,
) -> PreparedData:
    """Check the frames and bring them to the common form of :class:`PreparedData`.

    Raises
    ------
    EvaluationError
        A frame is not a DataFrame or is empty, the columns differ between frames, the target
        is not a column, the holdout has fewer than :data:`MIN_HOLDOUT_ROWS` rows, a value is
        infinite, or a column cannot be read with its kind. Messages name the frame and column.

    Examples
    --------
    >>> df = pd.DataFrame({"x": [1.5, 2.5, None], "c": ["a", "b", "a"]})
    >>> prep = prepare(df, df.iloc[::-1])
    >>> prep.numeric, prep.categorical
    (['x'], ['c'])
    >>> prep.codes["real"][:, 0].tolist(), prep.categories["c"]
    ([0, 1, 0], ['a', 'b'])
    """
    inputs = {"real": real, "synthetic": synthetic, "holdout": holdout}
    frames: dict[str, pd.DataFrame] = {}
    for what in FRAMES:
        if inputs[what] is None and what == "holdout":
            continue
        frames[what] = _check_frame(inputs[what], what)
    real = frames["real"]
    for what in ("synthetic", "holdout"):
        if what in frames:
            _check_columns(real, frames[what], what)
    if "holdout" in frames and len(frames["holdout"]) < MIN_HOLDOUT_ROWS:
        raise EvaluationError(
            f"holdout has {len(frames['holdout'])} rows; at least {MIN_HOLDOUT_ROWS} are needed "
            "(pass holdout=None to skip the metrics that need one)"
        )
    if target is not None and target not in real.columns:
        raise EvaluationError(
            f"target {target!r} is not a column of the frames; columns are {list(real.columns)}"
        )
    if schema is None:
        try:
            # The evaluation compares the real labels themselves (the report masks rare ones).
            schema = Schema.infer(real, min_count=1)
        except SynthgenError as exc:
            raise EvaluationError(f"cannot infer the kinds of the real columns: {exc}") from exc
    elif not isinstance(schema, Schema):
        raise EvaluationError(f"schema must be a synthgen Schema, got {type(schema).__name__}")
    missing_spec = [c for c in real.columns if c not in schema]
    if missing_spec:
        raise EvaluationError(f"schema does not describe column(s) {missing_spec!r}")

    kinds: dict[str, str] = {}
    excluded: dict[str, str] = {}
    formats: dict[str, Any] = {}  # the specs, for reading dates
    for name in real.columns:
        spec = schema[name]
        if spec.kind in ("id", "constant"):
            excluded[name] = f"{spec.kind} column"
        elif spec.semantic:
            # Generated values (fakes, free text) share nothing with the real ones by design.
            excluded[name] = f"{spec.semantic.replace('_', ' ')} column, values generated"
        else:
            kinds[name] = spec.kind
            formats[name] = spec
    if target is not None and target not in kinds:
        excluded_why = excluded.get(target, "not used")
        raise EvaluationError(f"target {target!r} cannot be evaluated: it is an {excluded_why}")
    if not kinds:
        raise EvaluationError(
            f"no column can be evaluated: every column is an id or a constant ({excluded})"
        )
    numeric = [c for c, k in kinds.items() if k in ("numeric", "datetime")]
    categorical = [c for c, k in kinds.items() if k in ("categorical", "text")]

    out_frames: dict[str, pd.DataFrame] = {}
    num: dict[str, np.ndarray] = {}
    for what, df in frames.items():
        cols: dict[str, pd.Series] = {}
        nums = []
        for name in kinds:
            col = df[name]
            if name in numeric:
                values = _to_numeric(col, name, what, kinds[name], formats[name])
                nums.append(values.to_numpy(dtype=float))
                if kinds[name] == "datetime":
                    # Seconds resolution where nanoseconds cannot hold the years (before 1677).
                    fits = bool(np.nanmax(np.abs(values.to_numpy()), initial=0.0) < 9.2e18)
                    dates = from_epoch(values.to_numpy(), "ns", "ns" if fits else "s")
                    cols[name] = dates.set_axis(values.index)
                else:
                    cols[name] = values
            else:
                cols[name] = col
        out_frames[what] = pd.DataFrame(cols, index=df.index).reset_index(drop=True)
        num[what] = np.column_stack(nums) if nums else np.empty((len(df), 0))

    codes, categories = _joint_codes(out_frames, categorical)
    return PreparedData(
        frames=out_frames,
        numeric=numeric,
        categorical=categorical,
        kinds=kinds,
        excluded=excluded,
        num=num,
        codes=codes,
        categories=categories,
        target=target,
        specs=formats,
    )


def _joint_codes(
    frames: dict[str, pd.DataFrame], categorical: list[str]
) -> tuple[dict[str, np.ndarray], dict[str, list[Any]]]:
    """Integer codes shared by all frames; missing values get their own code."""
    sizes = {what: len(df) for what, df in frames.items()}
    codes = {what: np.empty((n, len(categorical)), dtype=np.int64) for what, n in sizes.items()}
    categories: dict[str, list[Any]] = {}
    for j, name in enumerate(categorical):
        # compare labels as objects so that categorical and object dtypes code alike
        joined = pd.concat([df[name].astype(object) for df in frames.values()], ignore_index=True)
        present = joined.notna().to_numpy()
        labels, uniques = pd.factorize(joined.where(present, None), use_na_sentinel=True)
        n_real = next(iter(sizes.values()))
        if len(uniques) > MAX_EXACT_CODES:
            # Frequency rank in the real frame (ties and labels absent from it: first seen).
            real = labels[:n_real]
            counts = np.bincount(real[real >= 0], minlength=len(uniques))
            order = np.argsort(-counts, kind="stable")
            rank = np.empty(len(uniques), dtype=np.int64)
            rank[order] = np.arange(len(uniques))
            labels = np.where(labels < 0, labels, rank[np.maximum(labels, 0)])
            uniques = uniques[order]
        labels = np.where(labels < 0, len(uniques), labels)
        cats = list(uniques)
        if not present.all():
            cats.append(None)
        categories[name] = cats
        start = 0
        for what, n in sizes.items():
            codes[what][:, j] = labels[start : start + n]
            start += n
    return codes, categories
