"""Runs inside a mostlyai-engine environment: a subject table and one linked sequence table,
the way the engine models two tables (its ``split`` / ``analyze`` / ``encode`` / ``train`` /
``generate`` steps with its defaults).

1. Subject table: a flat TabularARGN on its value columns (``tgt_primary_key``), generating as
   many subjects as the scale asks. A subject table with no value column (cdnow's users) needs
   no model: the synthetic subjects are new keys.
2. Sequence table: a sequential TabularARGN with the subject table as context
   (``ctx_data``, ``ctx_primary_key``, ``tgt_context_key``), then ``generate(ctx_data=synthetic
   subjects)``: one sequence per synthetic subject.

Reads ``INPUT/metadata.json`` and ``INPUT/<table>.parquet``; writes ``OUTPUT/<table>.parquet``
and ``OUTPUT/timing.json`` (``fit_s`` as soon as training ends). ``--quick`` trains one epoch;
``--options '{"max_epochs": N, "max_training_time": MINUTES}'`` overrides the engine's
defaults. ``OMP_NUM_THREADS`` (when set) also sets torch's thread count.
"""

import argparse
import json
import os
import tempfile
import time
from pathlib import Path

import pandas as pd
import torch
from mostlyai import engine

parser = argparse.ArgumentParser()
parser.add_argument("--model", required=True, choices=["context"])
parser.add_argument("--input", required=True)
parser.add_argument("--output", required=True)
parser.add_argument("--seed", type=int, default=0)
parser.add_argument("--scale", type=float, default=1.0)
parser.add_argument("--quick", action="store_true")
parser.add_argument("--options", default="{}")
args = parser.parse_args()
if os.environ.get("OMP_NUM_THREADS"):
    torch.set_num_threads(int(os.environ["OMP_NUM_THREADS"]))
options = json.loads(args.options)
train_kwargs = {k: options[k] for k in ("max_epochs", "max_training_time") if k in options}
if args.quick:
    train_kwargs.setdefault("max_epochs", 1)

src, out = Path(args.input), Path(args.output)
meta = json.loads((src / "metadata.json").read_text())
tables = {t["name"]: pd.read_parquet(src / f"{t['name']}.parquet") for t in meta["tables"]}
pks = {t["name"]: t["primary_key"] for t in meta["tables"]}
if len(tables) != 2 or len(meta["foreign_keys"]) != 1:
    raise SystemExit("mostlyai_context needs exactly one subject table and one sequence table")
fk = meta["foreign_keys"][0]
parent, child = fk["parent"], fk["child"]


def text_dates(frame):
    """Columns of ISO date text (a CSV) as datetimes, so the engine models them as dates and
    not as categories; returns the frame and the names, to write them back as text."""
    frame, found = frame.copy(), []
    for col in frame.columns:
        if frame[col].dtype == object or pd.api.types.is_string_dtype(frame[col].dtype):
            parsed = pd.to_datetime(frame[col], format="ISO8601", errors="coerce")
            if parsed.notna().any() and parsed.notna().sum() == frame[col].notna().sum():
                frame[col], found = parsed, [*found, col]
    return frame, found


def as_text(frame, columns):
    for col in columns:
        frame[col] = pd.to_datetime(frame[col]).dt.strftime("%Y-%m-%d").astype(object)
        frame.loc[frame[col].isna(), col] = None
    return frame


(ctx, ctx_dates), (tgt, tgt_dates) = text_dates(tables[parent]), text_dates(tables[child])
pk = fk["parent_column"]
n_subjects = max(1, round(args.scale * len(ctx)))
timing = out / "timing.json"
engine.set_random_state(args.seed)

with tempfile.TemporaryDirectory(prefix="mostlyai_rel_") as tmp:
    ws_ctx, ws_tgt = Path(tmp, "ctx"), Path(tmp, "tgt")
    t0 = time.perf_counter()
    flat = [c for c in ctx.columns if c != pk]
    if flat:
        engine.split(tgt_data=ctx, tgt_primary_key=pk, model_type="TABULAR", workspace_dir=ws_ctx)
        engine.analyze(workspace_dir=ws_ctx)
        engine.encode(workspace_dir=ws_ctx)
        engine.train(workspace_dir=ws_ctx, device="cpu", **train_kwargs)
    engine.split(
        tgt_data=tgt,
        ctx_data=ctx,
        tgt_context_key=fk["column"],
        ctx_primary_key=pk,
        model_type="TABULAR",
        workspace_dir=ws_tgt,
    )
    engine.analyze(workspace_dir=ws_tgt)
    engine.encode(workspace_dir=ws_tgt)
    engine.train(workspace_dir=ws_tgt, device="cpu", **train_kwargs)
    fit_s = time.perf_counter() - t0
    timing.write_text(json.dumps({"fit_s": fit_s}))

    t0 = time.perf_counter()
    if flat:
        engine.generate(workspace_dir=ws_ctx, sample_size=n_subjects, device="cpu")
        syn_ctx = pd.read_parquet(ws_ctx / "SyntheticData")
    else:
        syn_ctx = pd.DataFrame({pk: range(n_subjects)})
    engine.generate(workspace_dir=ws_tgt, ctx_data=syn_ctx, device="cpu")
    syn_tgt = pd.read_parquet(ws_tgt / "SyntheticData")
    sample_s = time.perf_counter() - t0

syn_ctx = as_text(syn_ctx[list(ctx.columns)], ctx_dates)
as_text(syn_tgt[list(tgt.columns)], tgt_dates).to_parquet(out / f"{child}.parquet", index=False)
syn_ctx.to_parquet(out / f"{parent}.parquet", index=False)
timing.write_text(
    json.dumps({"fit_s": fit_s, "sample_s": sample_s, "params": train_kwargs or "defaults"})
)
