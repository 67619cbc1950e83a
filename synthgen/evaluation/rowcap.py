"""Frames longer than the evaluation reads: a random sample of rows, and the exact copies
sought among every real row.

:func:`~synthgen.evaluation.evaluate` reads at most ``EvaluationLimits.max_rows`` rows of each
frame (a million by default). A longer frame is replaced by rows drawn at random without
replacement (kept in their order) from a stream of the evaluation's seed of its own, so the
metric groups draw what they always drew. Every metric then sees the sample, with one
exception: a synthetic row that copies a training row is a leak whichever training row it
copies, so :func:`copies_of` looks for the sampled synthetic and holdout rows among every row
of the real frame as given, in chunks of :data:`CHUNK_ROWS` rows (memory bounded by a chunk).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from synthgen.evaluation.data import MIN_HOLDOUT_ROWS
from synthgen.evaluation.distance import row_keys
from synthgen.evaluation.keyed import RowGroups
from synthgen.exceptions import EvaluationError
from synthgen.schema import check_frame

__all__ = [
    "CHUNK_ROWS",
    "Capped",
    "cap_rows",
    "copies_of",
    "find_copies",
]

#: Rows of the full real frame coded at once while the copies are sought.
CHUNK_ROWS = 500_000


@dataclass
class Capped:
    """The frames of an evaluation after :func:`cap_rows`.

    Attributes
    ----------
    frames : dict
        Frame name -> what the evaluation reads (the frame as given, or its sample).
    given : dict
        Frame name -> rows as given, for each sampled frame.
    real : DataFrame
        The real frame as given (every row: the copies are sought among them).
    """

    frames: dict[str, pd.DataFrame]
    given: dict[str, int]
    real: pd.DataFrame


def cap_rows(frames: dict[str, Any], max_rows: int, rng: np.random.Generator) -> Capped:
    """Check the frames (``None`` ones left out) and replace each with more than
    ``max_rows`` rows by ``max_rows`` of its rows drawn at random (without replacement, in
    their order), each drawn from ``rng`` in the order of ``frames``; ``max_rows=0``: no cap.

    Raises
    ------
    EvaluationError
        A frame is not a usable table (see :func:`synthgen.schema.check_frame`), or
        ``max_rows`` is neither 0 nor at least :data:`~.data.MIN_HOLDOUT_ROWS`.

    Examples
    --------
    >>> frames = {"real": pd.DataFrame({"x": range(50)}), "synthetic": pd.DataFrame({"x": [1]})}
    >>> capped = cap_rows(frames, 20, np.random.default_rng(0))
    >>> len(capped.frames["real"]), len(capped.real), capped.given
    (20, 50, {'real': 50})
    >>> capped.frames["real"]["x"].is_monotonic_increasing
    True
    """
    if max_rows != 0 and max_rows < MIN_HOLDOUT_ROWS:
        raise EvaluationError(
            f"limits.max_rows must be 0 (no cap) or at least {MIN_HOLDOUT_ROWS}, got {max_rows}"
        )
    checked = {
        what: check_frame(frame, what=what, error=EvaluationError)
        for what, frame in frames.items()
        if frame is not None
    }
    out, given = dict(checked), {}
    for what, frame in checked.items():
        if max_rows > 0 and len(frame) > max_rows:
            rows = np.sort(rng.choice(len(frame), size=max_rows, replace=False))
            out[what] = frame.iloc[rows]
            given[what] = len(frame)
    return Capped(out, given, checked["real"])


def find_copies(query: np.ndarray, reference: Iterable[np.ndarray]) -> np.ndarray:
    """Whether each ``query`` key equals a key of any chunk of ``reference`` (keys from
    :func:`~synthgen.evaluation.distance.row_keys`).

    The query keys are grouped once by their fingerprints
    (:class:`~synthgen.evaluation.keyed.RowGroups`); each chunk's keys are looked up among
    them and compared byte for byte (exact: a shared fingerprint alone is no copy). The
    reference can be streamed (its memory is one chunk's).

    Examples
    --------
    >>> key = lambda *xs: row_keys(np.array(xs, dtype=float)[:, None], np.zeros((len(xs), 0)))
    >>> find_copies(key(1, 2, 3), [key(3, 5), key(1)]).tolist()
    [True, False, True]
    """
    groups = RowGroups(lambda rows: query[rows], len(query))
    hit = np.zeros(len(groups.counts), dtype=bool)
    for keys in reference:
        found = groups.find(keys)
        hit[found[found >= 0]] = True
    return hit[groups.group]


def copies_of(
    prep: Any, frames: tuple[str, ...], real: pd.DataFrame | None = None
) -> dict[str, np.ndarray]:
    """For each of the prepared ``frames``, whether each of its rows equals a real row: a row
    of ``real`` (the real frame as given, every row, coded like the prepared frames by
    :meth:`~synthgen.evaluation.data.PreparedData.encode` chunk by chunk), or of the
    prepared real rows when ``real`` is ``None``. The frames' keys are searched together,
    in one pass over the real rows.

    A label the prepared frames do not hold cannot match any of their rows, so sharing one
    code among such labels (as ``encode`` does) finds no false copy.

    Examples
    --------
    >>> from synthgen.evaluation.data import prepare
    >>> real = pd.DataFrame({"x": [1.0, 2.0, 1.0, 3.0], "c": ["a", "b", "b", "zz"]})
    >>> sample = real.iloc[:3]  # the row (3.0, "zz") left out
    >>> prep = prepare(sample, pd.DataFrame({"x": [3.0, 3.0], "c": ["zz", "a"]}))
    >>> copies_of(prep, ("synthetic",), real)["synthetic"].tolist()
    [True, False]
    >>> copies_of(prep, ("synthetic",))["synthetic"].tolist()  # among the sample only
    [False, False]
    """

    def chunks():
        if real is None:
            yield row_keys(*prep.take("real"))
            return
        for lo in range(0, len(real), CHUNK_ROWS):
            yield row_keys(*prep.encode(real.iloc[lo : lo + CHUNK_ROWS], "real"))

    queries = {what: row_keys(*prep.take(what)) for what in frames}
    if not queries:
        return {}
    found = find_copies(np.concatenate(list(queries.values())), chunks())
    out, start = {}, 0
    for what, keys in queries.items():
        out[what] = found[start : start + len(keys)]
        start += len(keys)
    return out
