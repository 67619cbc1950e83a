"""Several rounds of a cost curve: each point's medians over its rounds, and each
generator's cost against its first size (``python -m benchmarks scale --rounds N``)."""

from __future__ import annotations

import statistics
from typing import Any

__all__ = ["add_ratios", "summarize"]

#: What the summary of several rounds takes the median of.
_MEDIANS = ("fit_s", "s_per_epoch", "epoch_s", "sample_rows_per_s", "merchant_shape",
            "column_shapes", "column_pair_trends", "quality_s", "evaluate_s", "export_s",
            "cpu_s", "peak_rss_mb", "data_rss_mb")  # fmt: skip


def add_ratios(results: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """``results`` with each generator's cost against its first size's (in place and
    returned): ``epoch_ratio``, its ``epoch_s`` over the first's, and ``sampling_ratio``, the
    first's rows per second over its own (a point that lacks either figure gets no ratio)."""
    first: dict[str, dict[str, Any]] = {}
    for r in results:
        base = first.setdefault(r["generator"], r)
        for ratio, key, inverse in (
            ("epoch_ratio", "epoch_s", False),
            ("sampling_ratio", "sample_rows_per_s", True),
        ):
            a, b = base.get(key), r.get(key)
            if a and b:
                r[ratio] = a / b if inverse else b / a
    return results


def summarize(runs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One row per generator and size, in the order first measured: what its successful
    rounds agree on, the medians of their figures (``rounds``: how many), then
    :func:`add_ratios` of them (a round's own details, its draws' seconds or the load, stay
    in ``runs``); a point with no successful round keeps its last round's error."""
    points: dict[tuple[str, int], list[dict[str, Any]]] = {}
    for r in runs:
        points.setdefault((r["generator"], r["size"]), []).append(r)
    out = []
    for rounds in points.values():
        ok = [r for r in rounds if r.get("status") == "ok"]
        if not ok:
            out.append(rounds[-1] | {"rounds": 0})
            continue
        row = {k: v for k, v in ok[0].items() if all(r.get(k) == v for r in ok)}
        row["rounds"] = len(ok)
        for key in _MEDIANS:
            values = [r[key] for r in ok if r.get(key) is not None]
            if values:
                row[key] = statistics.median(values)
        out.append(row)
    return add_ratios(out)
