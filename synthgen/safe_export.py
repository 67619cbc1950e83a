"""Privacy-safe export: split, protect, fit, sample, filter, evaluate, and write only on a pass.

``sg.export(df, generator="copula", target="income", output="synthetic.csv",
report="privacy.html")`` keeps 20% of the rows as a holdout the generator never sees, fits on
the rest with the :class:`~synthgen.privacy.protections.Protections` on, draws as many rows as
it trained on (dropping and redrawing copies of training rows), and judges the result with
:func:`synthgen.evaluation.evaluate` against the holdout. The data file is written only when
the privacy verdict is ``"pass"`` (or ``force=True``); the report is always written, and says
why. A verdict that does not pass removes an older file at ``output``, so a data file found
there is always the result of a run that passed. The report itself masks labels held by fewer
than ``min_category_count`` rows and never shows a row.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from synthgen.evaluation import VERDICT_METRICS, EvaluationLimits, evaluate
from synthgen.evaluation.split import split_train_holdout
from synthgen.exceptions import ConfigurationError, PersistenceError
from synthgen.files import check_output_path
from synthgen.generators.registry import get_generator_class, list_generators, make_generator
from synthgen.privacy.dp import check_budget
from synthgen.privacy.protections import Protections, copy_mask, protect_training_data
from synthgen.schema import Schema, check_frame
from synthgen.tabular_io import check_table_path, write_table
from synthgen.utils import check_random_state

__all__ = ["ExportResult", "dp_generators", "export"]

#: Rounds of redrawing rows dropped by the copy filter before export gives up on them.
MAX_REDRAW_ROUNDS = 10


@dataclass
class ExportResult:
    """What :func:`export` did.

    Attributes
    ----------
    synthetic : DataFrame
        The synthetic rows (also when they were not written).
    report : Report
        Fidelity, utility and privacy against the holdout.
    verdict : str
        The privacy verdict: ``"pass"``, ``"warn"`` or ``"fail"``.
    written : bool
        Whether the data file was written.
    model : BaseGenerator
        The fitted generator.
    log : dict
        What the protections changed (merged labels, clipped values, dropped copies).
    privacy : dict or None
        With ``epsilon``: the differential-privacy guarantee the accountant gives the model
        (``epsilon`` spent, ``delta``, the target and each step's share); ``None`` without.
    removed_old_output : bool
        The verdict did not pass and an older file at ``output`` (from an earlier run) was
        removed, so it cannot be taken for this run's result.
    """

    synthetic: pd.DataFrame
    report: Any
    verdict: str
    written: bool
    model: Any
    log: dict[str, Any] = field(default_factory=dict)
    privacy: dict[str, Any] | None = None
    removed_old_output: bool = False

    @property
    def reasons(self) -> list[str]:
        """The privacy metrics that kept the verdict from passing, with their values."""
        out = []
        for row in self.report.summary().to_dict("records"):
            if row["metric"] in VERDICT_METRICS and row["status"] != "pass":
                value = row["value"]
                shown = "n/a" if value is None or value != value else f"{value:.4g}"
                out.append(f"{row['metric']} = {shown} ({row['status']})")
        return out


def _draw_without_copies(model, n_rows, train, holdout, schema, protections, rng, log):
    synthetic = model.sample(n_rows, random_state=rng)
    if not protections.filter_copies:
        return synthetic
    kept = []
    dropped = {"exact_copies": 0, "near_copies": 0}
    for _ in range(MAX_REDRAW_ROUNDS):
        mask, stats = copy_mask(synthetic, train, holdout, schema, protections.near_copy_quantile)
        dropped["exact_copies"] += stats["exact_copies"]
        dropped["near_copies"] += stats["near_copies"]
        log["near_copy_distance"] = stats["near_copy_distance"]
        kept.append(synthetic[~mask])
        missing = n_rows - sum(len(k) for k in kept)
        if missing <= 0 or len(kept[-1]) == 0:
            break  # done, or the generator only copies: redrawing cannot help
        synthetic = model.sample(missing, random_state=rng)
    log["dropped_copies"] = dropped
    out = pd.concat(kept, ignore_index=True).iloc[:n_rows]
    if len(out) < n_rows:
        log["short_by"] = n_rows - len(out)
    return model._regenerate_ids(out.reset_index(drop=True), force=True)


def export(
    data: pd.DataFrame,
    *,
    generator: str | None = None,
    params: dict[str, Any] | None = None,
    target: str | None = None,
    schema: Schema | None = None,
    epsilon: float | None = None,
    delta: float = 1e-5,
    holdout_share: float = 0.2,
    protections: Protections | None = None,
    output: str | os.PathLike[str] | None = None,
    report: str | os.PathLike[str] | None = None,
    force: bool = False,
    random_state: int | None = 0,
    verbose: bool = False,
) -> ExportResult:
    """Make a synthetic copy of ``data`` that is safe to share, and prove it.

    Parameters
    ----------
    data : DataFrame
        The sensitive table (not modified).
    generator : str, optional
        Registry key of the generator; ``"copula"`` by default, ``"dp_marginals"`` by
        default when ``epsilon`` is given.
    params : dict, optional
        Generator parameters.
    target : str, optional
        Column for the utility metrics of the report.
    schema : Schema, optional
        Column kinds and constraints; inferred when omitted.
    epsilon : float, optional
        Differential-privacy budget: the generator (one with DP support: ``dp_marginals``,
        ``gan``, ``vae``) is fitted with (``epsilon``, ``delta``)-differential privacy, the
        rare-label and extreme-value protections are replaced by their private versions, and
        the copy filter is off (it reads the real rows, which would void the guarantee; the
        privacy verdict still checks copies). The guarantee covers the synthetic rows and the saved
        model, not the report, which is computed from the real rows.
    delta : float
        Differential-privacy delta (with ``epsilon``); keep it well below ``1 / len(data)``.
    holdout_share : float
        Share of rows kept out of training to judge privacy.
    protections : Protections, optional
        Which protections to apply (all on by default).
    output : path, optional
        Where to write the synthetic table (``.csv`` or ``.parquet``) when the verdict passes.
        Checked before any work (known format, existing writable folder) and written
        atomically. When the verdict does not pass (and ``force`` is off), nothing is written
        and an older file at ``output`` is removed, so a file found there is always the result
        of a run that passed (``ExportResult.removed_old_output`` says so). When export raises,
        nothing at ``output`` is touched.
    report : path, optional
        Where to write the HTML report (always written, atomically).
    force : bool
        Write the data even when the verdict does not pass.
    random_state : int, optional
        Seed of the split, the generator and the evaluation.
    verbose : bool
        Progress bars.

    Examples
    --------
    >>> import synthgen as sg
    >>> df = sg.datasets.load_adult().head(2000)
    >>> result = sg.export(df, generator="copula", target="income")
    >>> result.verdict, result.written
    ('pass', False)
    >>> result = sg.export(df, generator="copy", target="income")
    >>> result.verdict
    'fail'
    >>> result = sg.export(df, epsilon=3.0, target="income")
    >>> result.privacy["epsilon"] <= 3.0, result.model.key
    (True, 'dp_marginals')
    """
    data = check_frame(data)
    if output is not None:
        check_table_path(output)  # before the fit, not after it
    if report is not None:
        check_output_path(report, what="report")
    protections = protections or Protections()
    params = dict(params or {})
    if epsilon is not None:
        epsilon, delta = check_budget(epsilon, delta)
        generator = "dp_marginals" if generator is None else generator
        if not get_generator_class(generator).tags.differential_privacy:
            raise ConfigurationError(
                f"generator {generator!r} has no differential-privacy support; with epsilon "
                f"use one of: {', '.join(dp_generators())}"
            )
        params.update(epsilon=epsilon, delta=delta)
        params.setdefault("min_category_count", max(protections.min_category_count, 1))
        # The non-private protections read the data outside the accountant: the private
        # preprocessing replaces them, and the copy filter (which reads the real rows) is off.
        protections = Protections(
            min_category_count=protections.min_category_count,
            clip_quantiles=None,
            filter_copies=False,
            near_copy_quantile=protections.near_copy_quantile,
        )
    generator = "copula" if generator is None else generator
    if not 0.05 <= float(holdout_share) <= 0.5:
        raise ConfigurationError(f"holdout_share must lie in [0.05, 0.5], got {holdout_share!r}")
    rng = check_random_state(random_state)
    seed = int(rng.integers(2**31))
    schema = Schema.infer(data) if schema is None else schema
    schema.validate(data)
    train, holdout = split_train_holdout(data, train_share=1 - holdout_share, random_state=seed)
    if epsilon is None:
        protected, protected_schema, log = protect_training_data(train, schema, protections)
    else:
        protected, protected_schema, log = train, schema, {}
    model = make_generator(generator, random_state=seed, verbose=verbose, **params)
    model.fit(protected, schema=protected_schema)
    synthetic = _draw_without_copies(
        model, len(train), protected, holdout, protected_schema, protections, rng, log
    )
    limits = EvaluationLimits(mask_labels_below=protections.min_category_count)
    if len(synthetic) == 0:
        synthetic = model.sample(len(train), random_state=rng)  # judge what it would have made
        log["all_rows_were_copies"] = True
    result_report = evaluate(
        real=train,
        synthetic=synthetic,
        holdout=holdout,
        target=target,
        schema=schema,
        random_state=seed,
        verbose=verbose,
        limits=limits,
    )
    privacy = getattr(model, "privacy_", None) if epsilon is not None else None
    if privacy is not None:
        result_report.meta["differential_privacy"] = privacy
    verdict = result_report.privacy_verdict
    if log.get("all_rows_were_copies"):
        verdict = "fail"
    if report is not None:
        result_report.to_html(report)
    written = removed = False
    if output is not None and (verdict == "pass" or force):
        write_table(synthetic, output)
        written = True
    elif output is not None and os.path.lexists(output):
        # A file left by an earlier run would look like this run's result: remove it.
        try:
            os.remove(output)
        except OSError as err:
            raise PersistenceError(
                f"the privacy verdict did not pass, and the older file at {os.fspath(output)!r} "
                f"could not be removed: {err.strerror or err}"
            ) from None
        removed = True
    log["protections"] = protections.to_dict()
    return ExportResult(
        synthetic, result_report, verdict, written, model, log, privacy, removed_old_output=removed
    )


def dp_generators() -> list[str]:
    """Registered generators that can be fitted with differential privacy.

    Examples
    --------
    >>> dp_generators()
    ['dp_marginals', 'gan', 'vae']
    """
    return [k for k in list_generators() if get_generator_class(k).tags.differential_privacy]
