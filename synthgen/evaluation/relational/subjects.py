"""Subject-level detection and privacy: a root row with all its descendants as one record.

A subject record holds the root row's value columns and, for each descendant table, the number
of its rows, the mean and standard deviation of each numeric column, the share of each of the
``top_categories`` most frequent real labels of each categorical column, and for a sequence
table the first and last order value and the mean gap between events. Dates are days since the
epoch. Generated personal data (names, e-mails) and ids are left out, as in the single-table
evaluation.

* **Detection**: a gradient-boosted classifier tells real subjects (the holdout when given, else
  train) from synthetic ones; cross-validated ROC AUC (0.5: indistinguishable), at most
  ``subject_rows`` of each, drawn with the seed.
* **Distance to closest record** (a diagnostic): share of synthetic subjects nearer a train
  subject than a holdout subject (mixed-type distance on the records; train sampled to the
  holdout's size; ties count half). 0.5: no closer to train than to unseen subjects.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import StratifiedKFold, cross_val_predict

from synthgen.evaluation.data import MIN_HOLDOUT_ROWS, _to_numeric, prepare
from synthgen.evaluation.distance import MixedEmbedding, nearest
from synthgen.evaluation.metrics import MetricResult
from synthgen.evaluation.models import feature_matrix, make_model, seed_from, single_thread
from synthgen.evaluation.relational.keys import sequence_link, subject_ids
from synthgen.evaluation.relational.limits import RelationalLimits
from synthgen.evaluation.relational.links import order_values
from synthgen.evaluation.thresholds import QUALITY_THRESHOLDS
from synthgen.schema import Schema
from synthgen.schema.metadata import Metadata

__all__ = [
    "no_records_metric",
    "record_schema",
    "subject_dcr",
    "subject_detection",
    "subject_records",
    "top_category_labels",
]


def _usable(schema: Schema | None, cols: list[str]) -> tuple[list[str], list[str]]:
    """Numeric-like and categorical-like columns of ``cols`` (ids, constants and generated
    personal data left out)."""
    if schema is None:
        return [], []
    num, cat = [], []
    for c in cols:
        spec = schema[c]
        if spec.kind in ("id", "constant") or spec.semantic:
            continue
        (num if spec.kind in ("numeric", "datetime") else cat).append(c)
    return num, cat


def subject_records(
    tables: dict[str, pd.DataFrame],
    metadata: Metadata,
    root: str,
    schemas: dict[str, Schema | None],
    columns: dict[str, list[str]],
    top_labels: dict[tuple[str, str], list],
    keep: np.ndarray | None,
    what: str,
) -> pd.DataFrame:
    """One record per subject (root row): root value columns plus per-table aggregates.

    ``columns`` gives the compared value columns of each table. ``keep`` restricts the
    subjects to those root rows (positions), so that only their descendants are aggregated.
    ``top_labels`` gives the labels whose shares are kept, per (table, column), taken from
    the real train tables so that every frame has the same columns.
    """
    ids = subject_ids(tables, metadata, root)
    root_df = tables[root]
    if keep is not None:
        root_df = root_df.iloc[keep]
    subj = ids[root].loc[root_df.index]
    num, cat = _usable(schemas[root], columns[root])
    out = {c: root_df[c].to_numpy() for c in cat}
    for c in num:
        kind = schemas[root][c].kind
        values = _to_numeric(root_df[c], c, f"{what} {root}", kind, schemas[root][c])
        out[c] = values.to_numpy(dtype=float) / (86_400e9 if kind == "datetime" else 1.0)
    index = pd.Index(subj.to_numpy())
    record = pd.DataFrame(out, index=index)
    for table in metadata.topological_order():
        if table == root or table not in ids:
            continue
        df = tables[table]
        sid = ids[table]
        mask = sid.isin(index).to_numpy()
        df, sid = df.loc[mask], sid[mask].to_numpy()
        agg = {f"{table}.count": pd.Series(sid).value_counts()}
        t_num, t_cat = _usable(schemas[table], columns[table])
        spec = schemas[table]
        feats = {}
        for c in t_num:
            kind = spec[c].kind
            x = _to_numeric(df[c], c, f"{what} {table}", kind, spec[c]).to_numpy(dtype=float)
            feats[c] = x / (86_400e9 if kind == "datetime" else 1.0)
        for c in t_cat:
            col = df[c].astype(object).to_numpy()
            for i, label in enumerate(top_labels.get((table, c), [])):
                feats[f"{c}=top{i + 1}"] = (col == label).astype(float)
        if feats:
            grouped = pd.DataFrame(feats).groupby(sid)
            means, stds = grouped.mean(), grouped.std()
            for c in means.columns:
                agg[f"{table}.{c}.mean"] = means[c]
                if "=top" not in c:
                    agg[f"{table}.{c}.std"] = stds[c]
        seq = metadata.tables[table].sequence_key
        if seq is not None and sequence_link(metadata, table) is not None:
            order = pd.Series(order_values(df[seq], spec, f"{what} {table}")).groupby(sid)
            first, last, n = order.min(), order.max(), order.count()
            agg[f"{table}.{seq}.first"] = first
            agg[f"{table}.{seq}.last"] = last
            agg[f"{table}.{seq}.mean_gap"] = (last - first) / (n - 1).where(n > 1)
        for name, series in agg.items():
            record[name] = series.reindex(index).to_numpy()
        record[f"{table}.count"] = record[f"{table}.count"].fillna(0.0)
    return record.reset_index(drop=True)


def top_category_labels(
    tables: dict[str, pd.DataFrame],
    metadata: Metadata,
    schemas: dict[str, Schema | None],
    columns: dict[str, list[str]],
    k: int,
) -> dict[tuple[str, str], list]:
    """The ``k`` most frequent labels of every compared categorical column of the child
    tables."""
    out: dict[tuple[str, str], list] = {}
    for table, df in tables.items():
        if not metadata.parents_of(table):
            continue
        _, cat = _usable(schemas[table], columns[table])
        for c in cat:
            out[(table, c)] = list(df[c].value_counts().index[:k])
    return out


def record_schema(record: pd.DataFrame, root_columns: list[str]) -> Schema:
    """Kinds of a subject record: aggregates are numbers, root columns as inferred."""
    kinds = {c: "numeric" for c in record.columns if c not in root_columns}
    return Schema.infer(record, kinds=kinds, min_count=1, structure=False)


_DETECTION_TEXT = (
    "Subjects (a root row with all its descendants as one record): cross-validated ROC AUC "
    "of a gradient-boosted classifier telling {ref} subjects from synthetic ones "
    "(0.5: indistinguishable)."
)


def no_records_metric() -> MetricResult:
    """The detection metric, skipped: subject records have no column to compare."""
    pass_at, warn_at = QUALITY_THRESHOLDS["detection_auc"]
    return MetricResult.skipped(
        "subject_detection_auc", "fidelity", 0.5, "closer to 0.5",
        _DETECTION_TEXT.format(ref="real"), "the subject records have no column",
        rule="at_most", pass_at=pass_at, warn_at=warn_at,
    )  # fmt: skip


def subject_detection(
    reference: pd.DataFrame,
    synthetic: pd.DataFrame,
    schema: Schema,
    limits: RelationalLimits,
    rng: np.random.Generator,
    reference_name: str,
) -> MetricResult:
    """Cross-validated AUC of a classifier telling reference subjects from synthetic ones."""
    pass_at, warn_at = QUALITY_THRESHOLDS["detection_auc"]
    text = _DETECTION_TEXT.format(ref=reference_name)
    n = min(len(reference), len(synthetic), limits.subject_rows)
    if n < 5 * limits.detection_folds:
        return MetricResult.skipped(
            "subject_detection_auc", "fidelity", 0.5, "closer to 0.5", text,
            f"too few subjects ({n}) for a {limits.detection_folds}-fold detection",
            rule="at_most", pass_at=pass_at, warn_at=warn_at,
        )  # fmt: skip
    ref = reference.iloc[np.sort(rng.choice(len(reference), n, replace=False))]
    syn = synthetic.iloc[np.sort(rng.choice(len(synthetic), n, replace=False))]
    prep = prepare(ref, syn, schema=schema)
    Xr, mask = feature_matrix(prep, "real")
    Xs, _ = feature_matrix(prep, "synthetic")
    X, y = np.concatenate([Xr, Xs]), np.r_[np.zeros(n), np.ones(n)]
    seed = seed_from(rng)
    model = make_model("classification", mask, seed, limits.hgb_max_iter)
    cv = StratifiedKFold(limits.detection_folds, shuffle=True, random_state=seed)
    with single_thread():
        proba = cross_val_predict(model, X, y, cv=cv, method="predict_proba", n_jobs=1)[:, 1]
    return MetricResult.graded(
        "subject_detection_auc",
        "fidelity",
        float(roc_auc_score(y, proba)),
        0.5,
        "closer to 0.5",
        "at_most",
        pass_at,
        warn_at,
        text,
        {
            "subjects_each": n,
            "features": len(prep.kinds),
            "reference": reference_name,
            "most_telling": _most_telling(X, y, prep.numeric + prep.categorical),
        },
    )


def _most_telling(X: np.ndarray, y: np.ndarray, names: list[str], k: int = 5) -> dict:
    """The ``k`` features that alone tell the two sets apart best: ``max(AUC, 1 - AUC)`` of
    each raw feature (a missing value below every other), to show what gives synthetic
    subjects away (category codes have no order, so theirs is a rough guide)."""
    out = {}
    for j, name in enumerate(names):
        x = X[:, j]
        finite = x[np.isfinite(x)]
        if len(finite) == 0 or (finite.min() == finite.max() and np.isfinite(x).all()):
            continue
        low = finite.min() - 1.0
        auc = roc_auc_score(y, np.where(np.isnan(x), low, x))
        out[name] = round(float(max(auc, 1.0 - auc)), 4)
    return dict(sorted(out.items(), key=lambda kv: -kv[1])[:k])


def subject_dcr(
    train: pd.DataFrame,
    holdout: pd.DataFrame,
    synthetic: pd.DataFrame,
    schema: Schema,
    limits: RelationalLimits,
    rng: np.random.Generator,
) -> MetricResult:
    """Share of synthetic subjects nearer a train subject than a holdout one (diagnostic)."""
    text = (
        "Diagnostic: share of synthetic subjects whose nearest train subject (train sampled to "
        "the holdout's size) is strictly nearer than their nearest holdout subject, ties "
        "counting half (0.5: no closer to train than to unseen subjects; above 0.5 hints at "
        "memorised subjects). Not a privacy verdict."
    )
    if len(holdout) < MIN_HOLDOUT_ROWS:
        return MetricResult.skipped(
            "subject_dcr_share", "privacy", 0.5, "closer to 0.5", text,
            f"{len(holdout)} holdout subjects; at least {MIN_HOLDOUT_ROWS} are needed",
        )  # fmt: skip
    n_ref = min(len(train), len(holdout), limits.subject_rows)
    n_syn = min(len(synthetic), limits.subject_rows)
    T = train.iloc[np.sort(rng.choice(len(train), n_ref, replace=False))]
    H = holdout.iloc[np.sort(rng.choice(len(holdout), n_ref, replace=False))]
    S = synthetic.iloc[np.sort(rng.choice(len(synthetic), n_syn, replace=False))]
    prep = prepare(T, S, H, schema=schema)
    all_num = np.concatenate([prep.num[f] for f in ("real", "synthetic", "holdout")])
    emb = MixedEmbedding(
        prep.num["real"],
        [len(prep.categories[c]) for c in prep.categorical],
        num_missing=np.isnan(all_num).any(axis=0),
    )
    t, s, h = (emb.transform(*prep.take(f)) for f in ("real", "synthetic", "holdout"))
    dt, _ = nearest(s, t, k=1)
    dh, _ = nearest(s, h, k=1)
    dt, dh = dt[:, 0], dh[:, 0]
    share = float(np.mean(dt < dh) + 0.5 * np.mean(dt == dh))
    return MetricResult.info(
        "subject_dcr_share",
        "privacy",
        share,
        0.5,
        "closer to 0.5",
        text,
        {
            "synthetic_subjects": n_syn,
            "reference_subjects": n_ref,
            "median_dcr_train": float(np.median(dt)),
            "median_dcr_holdout": float(np.median(dh)),
        },
    )
