"""The copy filter of ``sg.export`` on large tables: set-up and check seconds, peak memory.

Run: ``.venv/bin/python -m benchmarks.bench_copy_filter --rows 1000000`` (add
``--own-labels`` for a table where every holdout row is a category away from the training
rows, which puts the near-copy limit over 1; ``--cols 200`` for the ``cols`` axis table of
that many columns instead, half of them categorical, where nearly every row's combination
of labels is its own and the limit is several categories).

The table is the ``export`` axis of :mod:`benchmarks.scale` (Adult's columns resampled with
noise, plus ``ref``, mostly unique codes; the free-text column is left out: it is generated,
never compared). It is split 80/20 into training and holdout rows; the training rows get the
export's protections (``ref``'s rare codes merged into ``"(other)"``), and so do the
"synthetic" rows, a second draw of the same table standing in for a generator's output. As
export does, the holdout's codes are merged like the training rows' unless
``--own-labels`` is given: then each holdout row keeps a ``ref`` label of its own, one
category from every training row.

Prints one JSON line: rows, the filter's ``method`` and ``near_copy_distance``, rows dropped,
``setup_s`` (coding the training and holdout rows, the limit, the trees), ``check_s`` (one
batch of as many synthetic rows as training rows) and the peak RSS.
"""

from __future__ import annotations

import argparse
import json
import resource
import time

from benchmarks.scale import make_table


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=200_000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--own-labels", action="store_true", help="holdout ref labels unmerged")
    parser.add_argument("--cols", type=int, default=0, help="the wide table of this many columns")
    args = parser.parse_args(argv)

    from synthgen.privacy.copies import CopyFilter
    from synthgen.privacy.protections import Protections, protect_training_data
    from synthgen.schema import Schema

    def table(rows: int, seed: int):
        if args.cols:
            return make_table("cols", args.cols, seed, {"rows": rows})
        return make_table("export", rows, seed, {}).drop(columns=["note"])

    data = table(args.rows, args.seed)
    cut = int(0.8 * len(data))
    train, holdout = data.iloc[:cut], data.iloc[cut:].reset_index(drop=True)
    schema = Schema.infer(train.head(50_000))
    protected, protected_schema, _ = protect_training_data(train, schema, Protections())
    synthetic = table(cut, args.seed + 1)
    synthetic = protect_training_data(synthetic, schema, Protections())[0]
    merged = {} if args.own_labels or args.cols else {"ref": "(other)"}
    t0 = time.perf_counter()
    check = CopyFilter(protected, holdout, protected_schema, 0.01, cut, merged)
    check._setup()
    t1 = time.perf_counter()
    dropped = int(check.check(synthetic).sum())
    t2 = time.perf_counter()
    out = {
        "rows": args.rows,
        "own_labels": args.own_labels,
        "cols": args.cols or None,
        "method": check.stats["method"],
        "near_copy_distance": check.stats["near_copy_distance"],
        "dropped": dropped,
        "setup_s": round(t1 - t0, 2),
        "check_s": round(t2 - t1, 2),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
    }
    print(json.dumps(out))
    return out


if __name__ == "__main__":
    main()
