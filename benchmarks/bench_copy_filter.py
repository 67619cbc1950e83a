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
batch of as many synthetic rows as training rows), the peak RSS, and ``filter_mb``: the
most the process's RSS rose over what it held when the filter began (sampled every 20 ms).

``--spilled`` runs the copy filter of export in parts instead
(:class:`synthgen.privacy.spilled.SpilledCopyFilter`, with ``--own-labels`` or ``--cols``):
the training rows coded and spilled to a temporary folder in partitions of about
``--part-rows`` rows, the table's frames then let go, the holdout settled (``setup_s``) and
the synthetic rows checked as one round (``check_s``).
"""

from __future__ import annotations

import argparse
import contextlib
import ctypes
import gc
import json
import resource
import shutil
import tempfile
import threading
import time
from pathlib import Path

from benchmarks.scale import make_table


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=200_000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--own-labels", action="store_true", help="holdout ref labels unmerged")
    parser.add_argument("--cols", type=int, default=0, help="the wide table of this many columns")
    parser.add_argument("--spilled", action="store_true", help="the filter of export in parts")
    parser.add_argument("--part-rows", type=int, default=1_000_000, help="with --spilled")
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
    if args.spilled:
        if merged:
            raise SystemExit("--spilled needs --own-labels or --cols (no label merged)")
        check, dropped, times, rise = _spilled(
            protected, holdout, protected_schema, synthetic, args
        )
    else:
        with _RssRise() as rise:
            t0 = time.perf_counter()
            check = CopyFilter(protected, holdout, protected_schema, 0.01, cut, merged)
            check._setup()
            t1 = time.perf_counter()
            dropped = int(check.check(synthetic).sum())
            times = (t1 - t0, time.perf_counter() - t1)
    out = {
        "rows": args.rows,
        "own_labels": args.own_labels,
        "cols": args.cols or None,
        "spilled": args.spilled,
        "method": check.stats["method"],
        "near_copy_distance": check.stats["near_copy_distance"],
        "dropped": dropped,
        "setup_s": round(times[0], 2),
        "check_s": round(times[1], 2),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
        "filter_mb": round(rise.most),
    }
    print(json.dumps(out))
    return out


def _spilled(protected, holdout, schema, synthetic, args):
    """The spilled filter on the same rows: ``(filter, dropped, (setup_s, check_s), rise)``,
    its spilled rows in a temporary folder removed at the end."""
    folder = Path(tempfile.mkdtemp(prefix="bench-spilled-"))
    try:
        return _spilled_in(folder, protected, holdout, schema, synthetic, args)
    finally:
        shutil.rmtree(folder, ignore_errors=True)  # its parts are removed; the folder too


def _spilled_in(folder, protected, holdout, schema, synthetic, args):
    from synthgen.evaluation.data import prepare
    from synthgen.privacy.copies import copy_decision
    from synthgen.privacy.spilled import SpilledCopyFilter, SpilledRows

    prep = prepare(protected, holdout.iloc[:1], holdout, schema=schema)
    n_train, n_parts = len(protected), -(-len(protected) // args.part_rows)
    shape = (len(prep.numeric), len(prep.categorical))
    train = SpilledRows(folder / "train", n_parts, *shape, indexed=False)
    num, codes = prep.take("real")
    for lo in range(0, n_train, 100_000):
        train.add(num[lo : lo + 100_000], codes[lo : lo + 100_000])
    query = SpilledRows(folder / "round", n_parts, *shape, sample_rows=0)
    for lo in range(0, len(synthetic), 100_000):
        query.add(*prep.encode(synthetic.iloc[lo : lo + 100_000], "synthetic rows"))
    holdout_rows = prep.take("holdout")
    del num, codes, prep, protected, synthetic
    try:
        with _RssRise() as rise:
            t0 = time.perf_counter()
            check = SpilledCopyFilter(train, holdout_rows, 0.01)
            check.settle()
            t1 = time.perf_counter()
            if not check.partitioned:
                raise SystemExit("the partitions cannot serve this limit")
            counts, near = check.measure(query)
            dropped = int(copy_decision(check.stats, counts, near, n_train).sum())
            times = (t1 - t0, time.perf_counter() - t1)
    finally:
        train.remove()
        query.remove()
    return check, dropped, times, rise


class _RssRise:
    """The most the resident set rose while the ``with`` block ran (sampled every 20 ms)."""

    def __enter__(self) -> _RssRise:
        gc.collect()
        with contextlib.suppress(OSError):  # freed memory back to the system first
            ctypes.CDLL("libc.so.6").malloc_trim(0)
        self.start = self.most = 0.0
        self.start = _rss_mb()
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._watch, daemon=True)
        self._thread.start()
        return self

    def _watch(self) -> None:
        while not self._done.wait(0.02):
            self.most = max(self.most, _rss_mb() - self.start)

    def __exit__(self, *exc) -> None:
        self._done.set()
        self._thread.join()
        self.most = max(self.most, _rss_mb() - self.start)


def _rss_mb() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * resource.getpagesize() / 2**20


if __name__ == "__main__":
    main()
