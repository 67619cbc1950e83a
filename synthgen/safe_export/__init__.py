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
from tqdm.auto import tqdm

from synthgen.evaluation import EvaluationLimits, evaluate
from synthgen.evaluation.split import split_train_holdout
from synthgen.exceptions import ConfigurationError, PersistenceError
from synthgen.files import check_output_path
from synthgen.generators.defaults import default_generator
from synthgen.generators.registry import get_generator_class, list_generators, make_generator
from synthgen.generators.shadow import cheap_to_refit, shadow_refit
from synthgen.privacy.changes import protection_changes
from synthgen.privacy.copies import CopyFilter
from synthgen.privacy.dp import check_budget
from synthgen.privacy.protections import Protections, protect_training_data
from synthgen.safe_export.verdict import settle_verdict
from synthgen.schema import Schema, check_frame
from synthgen.tabular_io import check_table_path, write_table
from synthgen.utils import check_random_state

__all__ = ["ExportResult", "dp_generators", "export"]

#: Rounds of redrawing rows dropped by the copy filter before export gives up on them.
MAX_REDRAW_ROUNDS = 10

#: ``attacks=``: "auto" runs the shadow-model attack for generators cheap to refit, "full" for
#: every generator (neural ones on a small refit budget), "basic" never.
ATTACK_LEVELS = ("auto", "full", "basic")


def _export_refit(model, schema, protections, private, attacks, seed):
    """The shadow attack's refit: the export's own pipeline (protections, then the fit) on a
    table; ``None`` when the attack level leaves the shadow attack out for this generator."""
    if attacks == "basic" or (attacks == "auto" and not cheap_to_refit(model)):
        return None
    refit = shadow_refit(model, random_state=seed)
    if private:
        return refit  # the DP fit does its own private preprocessing

    def protected_refit(table: pd.DataFrame, n_rows: int) -> pd.DataFrame:
        protected, _, _ = protect_training_data(table, schema, protections)
        return refit(protected, n_rows)

    return protected_refit


@dataclass
class ExportResult:
    """What :func:`export` did.

    The one verdict of the export is :attr:`verdict`: the same as ``report.privacy_verdict``,
    the headline of the HTML and JSON reports, what the CLI prints and its exit status.

    Attributes
    ----------
    synthetic : DataFrame
        The synthetic rows (also when they were not written).
    report : Report
        Fidelity, utility and privacy of the synthetic rows against the original training rows
        and the holdout.
    verdict : str
        The privacy verdict: ``"pass"``, ``"warn"`` or ``"fail"``.
    written : bool
        Whether the data file was written.
    model : BaseGenerator
        The fitted generator.
    log : dict
        What the protections changed, in numbers: ``changes`` (per column: values clipped,
        with counts and bounds; labels merged, with counts) and ``copies`` (rows dropped as
        exact or near copies, natural duplicates kept, the holdout's duplicate rate).
    privacy : dict or None
        With ``epsilon``: the differential-privacy guarantee the accountant gives the model
        (``epsilon`` spent, ``delta``, the target and each step's share); ``None`` without.
    reasons : list of str
        Why the verdict is what it is, in short sentences (the failing measurements with their
        values and limits, or that every measurement passed).
    changes : list of str
        What the protections changed, in short sentences.
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
    reasons: list[str] = field(default_factory=list)
    changes: list[str] = field(default_factory=list)
    removed_old_output: bool = False


def draw_kept(model, n_rows: int, check: CopyFilter, rng, bar) -> pd.DataFrame:
    """Draw ``n_rows`` rows through the copy filter ``check``, redrawing the rows it drops
    (at most :data:`MAX_REDRAW_ROUNDS` rounds; fewer rows when the generator keeps copying).
    The index is a fresh ``RangeIndex``; identifier columns are not renumbered."""
    synthetic = model.sample(n_rows, random_state=rng)
    kept = []
    for _ in range(MAX_REDRAW_ROUNDS):
        drop = check.check(synthetic)
        # rows the filter keeps; the batch itself (no copy) when it keeps every row
        kept.append(synthetic[~drop] if drop.any() else synthetic)
        synthetic = None  # the batch is freed once filtered: ``kept`` holds what it keeps
        bar.update(len(kept[-1]))
        missing = n_rows - sum(len(k) for k in kept)
        if missing <= 0 or len(kept[-1]) == 0:
            break  # done, or the generator only copies: redrawing cannot help
        synthetic = model.sample(missing, random_state=rng)
    # at most ``n_rows`` rows: each redraw asks only for the rows still missing
    return joined_rows(kept)


def joined_rows(frames: list[pd.DataFrame]) -> pd.DataFrame:
    """The rows of ``frames`` in order, with a fresh ``RangeIndex`` (the one frame itself
    when there is one and it already has it)."""
    out = frames[0] if len(frames) == 1 else pd.concat(frames, ignore_index=True)
    if not isinstance(out.index, pd.RangeIndex) or out.index.start != 0:
        out = out.reset_index(drop=True)
    return out


def _draw_without_copies(model, n_rows, train, holdout, schema, protections, merged, rng, verbose):
    """Draw ``n_rows`` rows, dropping and redrawing copies; returns the rows and the filter's
    counts (``None`` when the filter is off)."""
    if not protections.filter_copies:
        return model.sample(n_rows, random_state=rng), None
    check = CopyFilter(train, holdout, schema, protections.near_copy_quantile, n_rows, merged)
    with tqdm(total=n_rows, desc="copy filter", unit="row", disable=not verbose) as bar:
        out = draw_kept(model, n_rows, check, rng, bar)
    stats = check.stats
    del check  # the training rows' codes and trees
    # ``out`` is export's own frame (drawn here): its identifiers are renumbered in place
    return model._regenerate_ids(out, force=True), dict(stats, kept=len(out), wanted=n_rows)


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
    data_name: str | None = None,
    attacks: str = "auto",
) -> ExportResult:
    """Make a synthetic copy of ``data`` that is safe to share, and prove it.

    Parameters
    ----------
    data : DataFrame
        The sensitive table (not modified).
    generator : str, optional
        Registry key of the generator. By default the best one that fits the table in a
        reasonable time, chosen from its size
        (:func:`~synthgen.generators.defaults.default_generator`: the transformer for tables
        up to a million cells); ``"dp_marginals"`` when ``epsilon`` is given.
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
        Progress bars (fitting, the copy filter, the evaluation).
    data_name : str, optional
        How the report names the data (the CLI gives the file name).
    attacks : {"auto", "full", "basic"}
        Whether the report's membership-inference ensemble includes the shadow-model attack
        (refits of the generator on reference rows): ``"auto"`` for the generators that are
        cheap to refit (not neural), ``"full"`` for every generator (neural ones refitted for
        a few epochs), ``"basic"`` never.

    Examples
    --------
    >>> import synthgen as sg
    >>> df = sg.datasets.load_adult().head(2000)
    >>> result = sg.export(df, generator="copula", target="income")
    >>> result.verdict, result.written
    ('pass', False)
    >>> result = sg.export(df, generator="copy", target="income")
    >>> result.verdict, result.report.privacy_verdict
    ('fail', 'fail')
    >>> result.reasons[0]  # doctest: +ELLIPSIS
    'The copy filter dropped every synthetic row (...'
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
    if attacks not in ATTACK_LEVELS:
        raise ConfigurationError(f"attacks must be one of {ATTACK_LEVELS}, got {attacks!r}")
    if not 0.05 <= float(holdout_share) <= 0.5:
        raise ConfigurationError(f"holdout_share must lie in [0.05, 0.5], got {holdout_share!r}")
    rng = check_random_state(random_state)
    seed = int(rng.integers(2**31))
    schema = Schema.infer(data) if schema is None else schema
    schema.validate(data)
    train, holdout = split_train_holdout(data, train_share=1 - holdout_share, random_state=seed)
    chosen = generator is None
    if chosen:
        generator = default_generator(len(train), data.shape[1])
    if epsilon is None:
        protected, protected_schema, log = protect_training_data(train, schema, protections)
    else:
        protected, protected_schema, log = train, schema, {}
    log["changes"] = protection_changes(train, protected, schema)
    model = make_generator(generator, random_state=seed, verbose=verbose, **params)
    model.fit(protected, schema=protected_schema)
    privacy = getattr(model, "privacy_", None) if epsilon is not None else None
    merged = {k: m["into"][0] for k, m in log["changes"]["merged"].items() if len(m["into"]) == 1}
    synthetic, copies = _draw_without_copies(
        model, len(train), protected, holdout, protected_schema, protections, merged, rng, verbose
    )
    del protected  # not read again: the evaluation judges the synthetic rows against ``train``
    if copies is not None:
        log["copies"] = copies
        if copies["kept"] == 0:
            synthetic = model.sample(len(train), random_state=rng)  # judge what it would make
    result_report = evaluate(
        real=train,
        synthetic=synthetic,
        holdout=holdout,
        target=target,
        schema=schema,
        random_state=seed,
        verbose=verbose,
        limits=EvaluationLimits(mask_labels_below=protections.min_category_count),
        generator=f"{generator} (chosen for the table's size)" if chosen else generator,
        data_name=data_name,
        refit=_export_refit(model, schema, protections, epsilon is not None, attacks, seed),
        privacy=privacy,
    )
    verdict, reasons, changes, written = settle_verdict(
        result_report, copies, log, protections, force, output is not None
    )
    if written:
        write_table(synthetic, output)
    if report is not None:
        result_report.to_html(report)
    removed = False
    if not written and output is not None and os.path.lexists(output):
        # A file left by an earlier run would look like this run's result: remove it.
        try:
            os.remove(output)
        except OSError as err:
            raise PersistenceError(
                f"the privacy verdict did not pass, and the older file at {os.fspath(output)!r} "
                f"could not be removed: {err.strerror or err}"
            ) from None
        removed = True
    return ExportResult(
        synthetic,
        result_report,
        verdict,
        written,
        model,
        log,
        privacy,
        reasons,
        changes,
        removed_old_output=removed,
    )


def dp_generators() -> list[str]:
    """Registered generators that can be fitted with differential privacy.

    Examples
    --------
    >>> dp_generators()
    ['dp_marginals', 'gan', 'vae']
    """
    return [k for k in list_generators() if get_generator_class(k).tags.differential_privacy]
