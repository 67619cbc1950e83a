"""Bounded code width for columns with many labels: frequent labels keep a code, the rest share one.

A one-hot block (GAN, VAE, diffusion) or an output head over codes (transformer, ``"index"``)
costs memory and time in proportion to the number of codes, so a column of 100,000 merchants
cannot have one code per label. Above :data:`DEFAULT_MAX_CODES` codes, the most frequent labels
keep a code of their own and every other stored label shares one *tail* code, which decodes to
one of those labels drawn by its training frequency: the column's shape is kept exactly, its
relations to other columns for the most frequent labels only. Only labels the schema stores
(held by at least ``min_count`` rows) are ever in the tail; rarer ones were pooled before (see
:mod:`synthgen.schema.safe`) and keep their own pooled code.

Columns with at most the cap keep one code per label, exactly as without this module.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from synthgen.transforms import _state

__all__ = ["DEFAULT_MAX_CODES", "CodeCap"]

#: Most codes a one-hot or index block has per column (labels, pooled and missing codes).
DEFAULT_MAX_CODES = 256


class CodeCap:
    """Map the label codes ``0..K-1`` (then the extra pooled / missing codes) to at most
    ``max_codes`` model codes and back.

    Parameters
    ----------
    n_labels : int
        Number of stored labels ``K``.
    n_extra : int
        Codes after the labels (pooled rare labels, missing): they keep a code each.

    Examples
    --------
    >>> cap = CodeCap(5, 1).fit(np.array([0, 0, 0, 1, 1, 2, 3, 4, 5]), 4)
    >>> cap.kept.tolist(), cap.n_model_codes
    ([0, 1], 4)
    >>> cap.forward(np.array([0, 1, 2, 4, 5])).tolist()
    [0, 1, 2, 2, 3]
    >>> back = cap.backward(np.array([0, 2, 3]), np.random.default_rng(0))
    >>> int(back[0]), int(back[1]) in (2, 3, 4), int(back[2])
    (0, True, 5)
    """

    def __init__(self, n_labels: int, n_extra: int) -> None:
        self.n_labels = int(n_labels)
        self.n_extra = int(n_extra)
        self.kept: np.ndarray = np.arange(self.n_labels)
        self.label_freq: np.ndarray = np.full(self.n_labels, 1.0 / max(self.n_labels, 1))

    @property
    def n_model_codes(self) -> int:
        """Kept labels, one tail code, then the extra codes."""
        return len(self.kept) + 1 + self.n_extra

    def fit(self, codes: np.ndarray, max_codes: int) -> CodeCap:
        """Keep the ``max_codes - 1 - n_extra`` most frequent labels (ties: label order)."""
        counts = np.bincount(codes[codes < self.n_labels], minlength=self.n_labels)
        n_keep = max(1, int(max_codes) - 1 - self.n_extra)
        top = np.argsort(-counts, kind="stable")[:n_keep]
        self.kept = np.sort(top)
        self.label_freq = counts / max(counts.sum(), 1)
        return self

    def _lookup(self) -> np.ndarray:
        tail = len(self.kept)
        remap = np.full(self.n_labels + self.n_extra, tail, dtype=np.int64)
        remap[self.kept] = np.arange(tail)
        remap[self.n_labels :] = tail + 1 + np.arange(self.n_extra)
        return remap

    def forward(self, codes: np.ndarray) -> np.ndarray:
        """Label codes to model codes (every tail label to the tail code)."""
        return self._lookup()[codes]

    def backward(self, model: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """Model codes to label codes; tail codes become a tail label drawn by frequency."""
        tail = len(self.kept)
        back = np.empty(self.n_model_codes, dtype=np.int64)
        back[:tail] = self.kept
        back[tail] = -1
        back[tail + 1 :] = self.n_labels + np.arange(self.n_extra)
        out = back[model]
        drawn = out < 0
        if drawn.any():
            mask = np.ones(self.n_labels, dtype=bool)
            mask[self.kept] = False
            labels = np.flatnonzero(mask)
            p = self.label_freq[labels]
            p = p / p.sum() if p.sum() > 0 else np.full(len(labels), 1.0 / len(labels))
            out[drawn] = labels[rng.choice(len(labels), size=int(drawn.sum()), p=p)]
        return out

    def get_state(self) -> dict[str, Any]:
        return {"kept": self.kept.tolist(), "label_freq": self.label_freq.tolist()}

    def set_state(self, state: dict[str, Any]) -> CodeCap:
        """Restore :meth:`get_state` output (checked: a saved model is untrusted)."""
        kept = _state.numbers(state, "kept", min_length=1, max_length=self.n_labels - 1)
        if (
            not np.array_equal(kept, np.rint(kept))
            or np.any(np.diff(kept) <= 0)
            or kept[0] < 0
            or kept[-1] >= self.n_labels
        ):
            raise ValueError("kept must list increasing label codes")
        freq = _state.numbers(state, "label_freq", length=self.n_labels)
        if (freq < 0).any() or freq.sum() > 1 + 1e-6:
            raise ValueError("label_freq must be non-negative shares summing to 1")
        self.kept, self.label_freq = kept.astype(np.int64), freq
        return self
