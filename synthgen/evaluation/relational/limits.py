"""Row and pair caps of the multi-table evaluation (drawn at random with its seed)."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

__all__ = ["RelationalLimits"]


@dataclass(frozen=True)
class RelationalLimits:
    """How much of each table the costly metrics look at.

    Parameters
    ----------
    table_rows : int
        Rows per frame (real and synthetic, each) for a table's column shapes and pair trends,
        and child rows per frame for the parent-child trends of a foreign key. Counts,
        cardinalities, sequences and key integrity always use every row.
    cross_pairs : int
        Parent-child column pairs scored per foreign key (a seeded sample when there are more).
    subject_rows : int
        Subjects per frame for the subject-level detection and distance to closest record.
    detection_folds : int
        Cross-validation folds of the subject detection classifier.
    hgb_max_iter : int
        Boosting iterations of the detection classifier.
    top_categories : int
        Most frequent labels of each categorical child column whose shares go into a subject
        record.

    Examples
    --------
    >>> RelationalLimits().subject_rows
    5000
    """

    table_rows: int = 50_000
    cross_pairs: int = 30
    subject_rows: int = 5000
    detection_folds: int = 3
    hgb_max_iter: int = 100
    top_categories: int = 3

    def to_dict(self) -> dict[str, Any]:
        """Plain dictionary of the limits."""
        return asdict(self)
