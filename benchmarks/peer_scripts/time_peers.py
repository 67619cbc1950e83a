"""Time the reference CTGAN and TVAE (``ctgan`` package) for a few epochs and extrapolate.

Run in a separate environment that has the peer installed (never a synthgen dependency)::

    python3 -m venv /work/venv-sdv
    /work/venv-sdv/bin/pip install torch==2.13.0   # first: avoids the multi-GB CUDA build
    /work/venv-sdv/bin/pip install ctgan pandas
    PYTHONPATH=. /work/venv-sdv/bin/python benchmarks/peer_scripts/time_peers.py --epochs 3

Prints, per model, the seconds of a ``--epochs`` fit (preprocessing included and reported
apart) and the extrapolation to the default 300 epochs, on Adult's 80/20 training split.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
import pandas as pd

DATA = Path(__file__).resolve().parents[2] / ".." / "shared" / "data" / "adult.csv"


def load_train() -> pd.DataFrame:
    frame = pd.read_csv(DATA)
    for col in frame.columns:
        if frame[col].dtype == object:
            stripped = frame[col].str.strip()
            frame[col] = stripped.where(stripped != "?", "missing")
    # Same protocol as benchmarks.datasets.split_train_holdout: shuffle seed 0, 80 %.
    order = np.random.default_rng(0).permutation(len(frame))
    return frame.iloc[order[: round(0.8 * len(frame))]].reset_index(drop=True)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--models", nargs="+", default=["ctgan", "tvae"])
    parser.add_argument("--threads", type=int, default=1, help="torch intra-op threads")
    args = parser.parse_args()
    import torch
    from ctgan import CTGAN, TVAE

    torch.set_num_threads(args.threads)

    train = load_train()
    discrete = [c for c in train.columns if train[c].dtype == object]
    for name in args.models:
        cls = CTGAN if name == "ctgan" else TVAE
        model = cls(epochs=args.epochs)
        marks = _mark_training_start(name)
        t0, c0 = time.perf_counter(), time.process_time()
        model.fit(train, discrete)
        total, cpu_total = time.perf_counter() - t0, time.process_time() - c0
        # Preprocessing ends where the training loop's data object is built (timed inside
        # this very fit, not by a second fit under another load).
        prep_s, cpu_prep = marks[-1][0] - t0, marks[-1][1] - c0
        per_epoch = (total - prep_s) / args.epochs
        cpu_epoch = (cpu_total - cpu_prep) / args.epochs
        print(
            json.dumps(
                {
                    "model": name,
                    "epochs": args.epochs,
                    "fit_s": round(total, 1),
                    "preprocess_s": round(prep_s, 1),
                    "per_epoch_s": round(per_epoch, 2),
                    "extrapolated_300_epochs_s": round(prep_s + 300 * per_epoch),
                    # CPU seconds of this process: what the fit costs whatever else runs
                    "cpu_preprocess_s": round(cpu_prep, 1),
                    "cpu_per_epoch_s": round(cpu_epoch, 2),
                    "cpu_extrapolated_300_epochs_s": round(cpu_prep + 300 * cpu_epoch),
                }
            ),
            flush=True,
        )


def _mark_training_start(name: str) -> list[float]:
    """Record the time (wall clock, CPU) at which ``name``'s fit builds its training data object."""
    import ctgan.synthesizers.ctgan as ctgan_module
    import ctgan.synthesizers.tvae as tvae_module

    module, attr = (ctgan_module, "DataSampler") if name == "ctgan" else (tvae_module, "DataLoader")
    original = getattr(module, attr)
    marks: list[tuple[float, float]] = []

    def wrapper(*args, **kwargs):
        marks.append((time.perf_counter(), time.process_time()))
        return original(*args, **kwargs)

    setattr(module, attr, wrapper)
    return marks


if __name__ == "__main__":
    main()
