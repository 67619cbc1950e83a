"""``sg.evaluate`` and ``sg.export`` on wide tables: seconds and peak memory against columns.

Run: ``.venv/bin/python -m benchmarks.bench_wide_evaluate --cols 200 --rows 5000`` (one
thread). The table is the ``cols`` axis of :mod:`benchmarks.scale` (Adult resampled with
noise plus generated columns, half numeric and half 6-label categorical, following a shared
latent factor); the synthetic rows are the copula's. Prints one JSON line: ``evaluate_s``,
the column shapes and pair trends, the pairs counted and the peak RSS. ``--sdmetrics`` also
scores the pair trends through sdmetrics' own report (``sdmetrics_s``, and the largest
difference of a pair's score from the one-pass scores). ``--export`` runs
``sg.export(table, generator="copula")`` instead (``export_s``, the verdict, the copy
filter's method and its seconds).
"""

from __future__ import annotations

import argparse
import json
import resource
import time
from typing import Any

from benchmarks.scale import make_table


def _trends(prep: Any, out: dict[str, Any]) -> None:
    """Both ways of scoring the pair trends on the same frames."""
    from synthgen.evaluation import quality

    t0 = time.perf_counter()
    fast = quality.quality_report_scores(prep)
    t1 = time.perf_counter()
    one_pass = quality.pair_trends
    quality.pair_trends = lambda *args: None  # the pairs go to sdmetrics' report
    try:
        slow = quality.quality_report_scores(prep)
    finally:
        quality.pair_trends = one_pass
    out["one_pass_s"] = round(t1 - t0, 2)
    out["sdmetrics_s"] = round(time.perf_counter() - t1, 2)
    out["same_pairs"] = fast["trends_details"].keys() == slow["trends_details"].keys()
    out["max_pair_difference"] = max(
        (abs(fast["trends_details"][k] - v) for k, v in slow["trends_details"].items()),
        default=0.0,
    )


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cols", type=int, default=200)
    parser.add_argument("--rows", type=int, default=5000)
    parser.add_argument("--sdmetrics", action="store_true", help="time sdmetrics' pair loop too")
    parser.add_argument("--export", action="store_true", help="time sg.export instead")
    args = parser.parse_args(argv)

    import synthgen as sg
    from synthgen.evaluation.data import prepare
    from synthgen.generators.baselines import GaussianCopula

    table = make_table("cols", args.cols, 0, {"rows": args.rows})
    out: dict[str, Any] = {"cols": table.shape[1], "rows": len(table)}
    if args.export:
        t0 = time.perf_counter()
        result = sg.export(table, generator="copula", random_state=0)
        out["export_s"] = round(time.perf_counter() - t0, 1)
        out["verdict"] = result.verdict
        out["copy_filter"] = result.log["copies"].get("method")
    else:
        synthetic = GaussianCopula(random_state=0).fit(table).sample(args.rows, random_state=1)
        t0 = time.perf_counter()
        report = sg.evaluate(table, synthetic)
        out["evaluate_s"] = round(time.perf_counter() - t0, 1)
        out["column_shapes"] = report["column_shapes"].value
        out["column_pair_trends"] = report["column_pair_trends"].value
        if args.sdmetrics:
            _trends(prepare(table, synthetic), out)
    out["peak_rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
    print(json.dumps(out))
    return out


if __name__ == "__main__":
    main()
