"""The benchmark protocol's split of linked tables into train and holdout *subjects*."""

from __future__ import annotations

from collections.abc import Mapping

import pandas as pd

from synthgen.evaluation.relational.keys import subject_ids, subject_root
from synthgen.exceptions import EvaluationError
from synthgen.schema.metadata import Metadata

__all__ = ["split_subjects"]


def split_subjects(
    tables: Mapping[str, pd.DataFrame],
    metadata: Metadata,
    *,
    frac: float = 0.8,
    random_state: int = 0,
    root: str | None = None,
) -> tuple[dict[str, pd.DataFrame], dict[str, pd.DataFrame]]:
    """Split linked tables per subject: a root row goes to train or holdout with all its
    descendants.

    The rows of the subject table are shuffled with ``random_state`` exactly as the
    single-table protocol shuffles a table (``DataFrame.sample(frac=1.0, random_state=...)``);
    the first ``round(frac * n)`` are the train subjects. Every other row follows its subject
    (see :func:`~synthgen.evaluation.relational.keys.subject_ids`). Rows keep their original
    order inside each part (so sequences stay in order) and get a fresh index. A row without a
    subject (a missing foreign key value) goes to train: it belongs to no holdout subject.
    Tables that do not descend from the subject table (lookup tables under another root) are
    copied whole into both parts. The input tables are not modified.

    Parameters
    ----------
    tables : dict of str to DataFrame
        Every table of ``metadata``, consistent with it (checked with ``metadata.validate``).
    metadata : Metadata
        Keys and links.
    frac : float
        Share of subjects in train, strictly between 0 and 1.
    random_state : int
        Seed of the shuffle (the protocol uses 0).
    root : str, optional
        The subject table, when the metadata has several roots.

    Returns
    -------
    (train, holdout) : two dicts of str to DataFrame

    Raises
    ------
    EvaluationError
        ``frac`` out of range, or several roots and no ``root``.
    MetadataError
        The tables do not fit the metadata (a dangling foreign key, a repeated primary key).

    Examples
    --------
    >>> from synthgen.schema.metadata import ForeignKey, TableMeta
    >>> meta = Metadata([TableMeta("u", "id"), TableMeta("o")],
    ...                 [ForeignKey("o", "u_id", "u", "id")])
    >>> tables = {"u": pd.DataFrame({"id": range(10)}),
    ...           "o": pd.DataFrame({"u_id": [0, 0, 1, 5, 9, 9, 9]})}
    >>> train, holdout = split_subjects(tables, meta)
    >>> len(train["u"]), len(holdout["u"])
    (8, 2)
    >>> sorted(set(holdout["o"]["u_id"]) - set(holdout["u"]["id"]))
    []
    """
    if isinstance(frac, bool) or not isinstance(frac, (int, float)) or not 0 < frac < 1:
        raise EvaluationError(f"frac must be a number strictly between 0 and 1, got {frac!r}")
    if not isinstance(metadata, Metadata):
        raise EvaluationError(
            f"metadata must be a synthgen Metadata, got {type(metadata).__name__}"
        )
    metadata.validate(tables)
    root = subject_root(metadata, root)
    root_df = tables[root]
    order = root_df.sample(frac=1.0, random_state=random_state).index
    cut = round(frac * len(order))
    in_train_root = pd.Series(False, index=root_df.index)
    in_train_root.loc[order[:cut]] = True
    ids = subject_ids(tables, metadata, root)
    holdout_ids = ids[root][~in_train_root.to_numpy()]  # root keys, unique by validation
    train: dict[str, pd.DataFrame] = {}
    holdout: dict[str, pd.DataFrame] = {}
    for name, df in tables.items():
        if name not in ids:
            train[name] = df.reset_index(drop=True)
            holdout[name] = df.reset_index(drop=True)
            continue
        # a row without a subject (a missing foreign key) belongs to no holdout subject
        mask = ~ids[name].isin(holdout_ids).to_numpy()
        train[name] = df.loc[mask].reset_index(drop=True)
        holdout[name] = df.loc[~mask].reset_index(drop=True)
    return train, holdout
