"""Every threshold and sample-size limit of the evaluation, in one place.

:class:`PrivacyThresholds` decides the privacy verdict; :data:`QUALITY_THRESHOLDS` grades the
fidelity and utility metrics; :class:`EvaluationLimits` bounds the number of rows each costly
metric looks at, so that a full report on a table of tens of thousands of rows stays fast.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

__all__ = ["QUALITY_THRESHOLDS", "EvaluationLimits", "PrivacyThresholds"]


@dataclass(frozen=True)
class PrivacyThresholds:
    """Pass/warn limits of the privacy metrics.

    A metric passes when its graded number is at most the ``*_pass`` limit, warns when it is at
    most the ``*_warn`` limit, and fails otherwise. The privacy verdict is the worst status
    among the attack metrics (:data:`~synthgen.evaluation.privacy.VERDICT_METRICS`): the
    membership-inference ensemble (``mia_auc``, ``mia_tpr``, ``mia_vulnerable_tpr``) and the
    singling-out, linkability and attribute-inference risks. Each is graded on the *lower*
    bound of its interval, so a metric fails only when the attack is clearly better than
    chance, not when it is noisy. A verdict metric that could not be computed (no holdout)
    turns a ``"pass"`` into ``"warn"``, because missing evidence is not evidence of safety.
    The distance diagnostics (``dcr_share``, ``exact_copy_excess``) are graded with their own
    limits but do not enter the verdict: passing them is not evidence of privacy (Yao et al.,
    "The DCR Delusion", 2025).

    Parameters
    ----------
    dcr_share_pass, dcr_share_warn : float
        Diagnostic: share of synthetic rows closer to the training rows than to the holdout
        rows (0.5 is ideal; values under 0.5 carry no risk).
    exact_copy_excess_pass, exact_copy_excess_warn : float
        Diagnostic: share of synthetic rows that copy a training row, minus the share of
        holdout rows that happen to equal a training row (the base rate of the data).
    mia_auc_pass, mia_auc_warn : float
        Limits of the lower bootstrap bound of the strongest membership attack's ROC AUC (0.5
        is chance). On the canaries of ``tests/integration/test_privacy_canaries.py`` (1,000
        Adult rows, 500 candidates per side) unseen rows used as synthetic data give a lower
        bound of 0.497, a copying generator 0.78 and an overfitted transformer 0.57; on full
        Adult the default generators stay at 0.49-0.50. 0.55 sits clear of chance and of the
        multiple attacks' best draw.
    mia_tpr_pass, mia_tpr_warn : float
        How far the lower bootstrap bound of the strongest attack's true-positive rate at 1%
        false positives over all candidates may exceed chance (what a random score reaches
        with that many non-members: 0.0101 at 3,257, 0.012 at 500, 0.048 at 20, where no false
        positive is allowed). On Adult 0.02 puts the limit at three times chance, at the
        pessimistic end of the interval.
    mia_vulnerable_tpr_pass, mia_vulnerable_tpr_warn : float
        The same margins for the 100 most vulnerable records (chance 0.02 at 100 non-members:
        one false positive allowed), wider because 100 records give coarse rates.
    risk_pass, risk_warn : float
        Upper limits for the *lower* bound of the confidence interval of the singling-out,
        linkability and attribute-inference risks (Giomi et al., 2022), Anonymeter-style and
        model-based.
    confidence_level : float
        Confidence level of every interval (Wilson scores for the risks, percentile bootstrap
        for the membership attacks).

    Examples
    --------
    >>> PrivacyThresholds().mia_auc_pass
    0.55
    >>> PrivacyThresholds(risk_pass=0.05).risk_pass
    0.05
    """

    dcr_share_pass: float = 0.55
    dcr_share_warn: float = 0.60
    exact_copy_excess_pass: float = 0.01
    exact_copy_excess_warn: float = 0.05
    mia_auc_pass: float = 0.55
    mia_auc_warn: float = 0.60
    mia_tpr_pass: float = 0.02
    mia_tpr_warn: float = 0.04
    mia_vulnerable_tpr_pass: float = 0.04
    mia_vulnerable_tpr_warn: float = 0.09
    risk_pass: float = 0.10
    risk_warn: float = 0.25
    confidence_level: float = 0.95

    def to_dict(self) -> dict[str, Any]:
        """Plain dictionary of the limits."""
        return asdict(self)


@dataclass(frozen=True)
class EvaluationLimits:
    """Row caps of the costly metrics (rows are drawn at random with the evaluation's seed).

    Parameters
    ----------
    detection_rows : int
        Rows of holdout and of synthetic data (each) fed to the detection classifier.
    detection_folds : int
        Cross-validation folds of the detection classifier.
    utility_rows : int
        Training rows for TSTR and TRTR models (each); test rows of the holdout are capped too.
    precision_recall_rows : int
        Rows of real and of synthetic data (each) for alpha-precision / beta-recall.
    precision_recall_k : int
        Neighbour rank that defines the radius of each k-NN ball.
    privacy_rows : int
        Rows of synthetic data, of holdout and of the size-matched training sample used by the
        distance-based privacy metrics (DCR share, NNDR, membership inference).
    anonymeter_attacks : int
        Number of attacks (targets or predicates) per Anonymeter-style risk.
    max_secret_columns : int
        Number of columns tried, in turn, as the secret of the attribute-inference attacks.
    attack_rows : int
        Most rows of each role of the membership-inference threat model: reference rows (half
        of the holdout), non-member candidates (the other half) and member candidates; also
        the synthetic rows the classifier attack learns from.
    attack_synthetic_rows : int
        Most synthetic rows the membership attacks search (all of a release up to this size:
        an attack on a sample misses most copied records, and the attacks' power grows with
        the rows they search; on Adult 200,000 rows cost the attacks about 12 s).
    attack_bootstrap : int
        Bootstrap rounds of the membership attacks' intervals.
    vulnerable_records : int
        Most outlying member candidates (and as many non-members) scored on their own.
    shadow_models : int
        Generators refitted on reference rows by the shadow-model attack (when a refit
        function is given).
    plot_rows : int
        Rows kept per frame to draw the distribution plots of the HTML report.
    mask_labels_below : int
        In the report's plots, category labels held by fewer real rows are shown masked, and
        numeric histograms span the real values' 0.5-99.5% quantiles instead of their extremes
        (0: no masking; privacy-safe export sets it).
    hgb_max_iter : int
        Boosting iterations of every HistGradientBoosting model (detection and utility).
    max_rows : int
        Most rows of each frame the evaluation reads: a longer frame is replaced by this many
        of its rows drawn at random (with the evaluation's seed, before anything else; the
        report's ``meta["sampled_rows"]`` gives the rows as given). The exact copies are
        still sought among every real row (:mod:`synthgen.evaluation.rowcap`). 0: no cap.

    Examples
    --------
    >>> EvaluationLimits().privacy_rows
    5000
    """

    detection_rows: int = 5000
    detection_folds: int = 3
    utility_rows: int = 20000
    precision_recall_rows: int = 2000
    precision_recall_k: int = 5
    privacy_rows: int = 5000
    anonymeter_attacks: int = 500
    max_secret_columns: int = 15
    attack_rows: int = 5000
    attack_synthetic_rows: int = 200_000
    attack_bootstrap: int = 200
    vulnerable_records: int = 100
    shadow_models: int = 2
    plot_rows: int = 5000
    mask_labels_below: int = 0
    hgb_max_iter: int = 100
    max_rows: int = 1_000_000

    def to_dict(self) -> dict[str, Any]:
        """Plain dictionary of the limits."""
        return asdict(self)


#: (pass, warn) limits of the fidelity and utility metrics. Metrics graded "at least" pass when
#: the value is >= the pass limit; metrics graded "at most" pass when it is <= the pass limit.
QUALITY_THRESHOLDS: dict[str, tuple[float, float]] = {
    "column_shapes": (0.90, 0.80),
    "column_pair_trends": (0.90, 0.80),
    "missing_value_similarity": (0.95, 0.90),
    "category_coverage": (0.90, 0.75),
    "range_coverage": (0.90, 0.75),
    "detection_auc": (0.60, 0.75),
    "alpha_precision": (0.75, 0.50),
    "beta_recall": (0.75, 0.50),
    # utility gaps: TRTR score minus TSTR score
    "roc_auc_gap": (0.05, 0.10),
    "f1_macro_gap": (0.05, 0.10),
    "r2_gap": (0.05, 0.15),
}
