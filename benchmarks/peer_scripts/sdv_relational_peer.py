"""Runs inside an SDV 2.0 environment: HMASynthesizer (linked tables) or PARSynthesizer
(one sequence table under a subject table), with SDV's defaults.

Reads ``INPUT/metadata.json`` (synthgen's metadata JSON) and ``INPUT/<table>.parquet``; writes
``OUTPUT/<table>.parquet`` and ``OUTPUT/timing.json`` (``fit_s`` right after the fit, so a run
stopped while sampling still reports it). SDV's metadata is built with its own API: detected
from the frames without keys, then keys, relationships and the sequence key / index set from
synthgen's metadata.

* ``hma``: ``HMASynthesizer(metadata).fit(tables)``, then ``sample_scale(scale)``.
* ``par``: the child table with the subject table's value columns joined on as context
  columns; ``PARSynthesizer(metadata, context_columns=..., epochs=128)``, then
  ``sample_sequences(n_subjects)``; the subject table is rebuilt from the sequence keys and
  context columns. ``--quick`` trains 2 epochs; ``--options '{"epochs": N}'`` sets them.
"""

import argparse
import json
import random
import time
from pathlib import Path

import numpy as np
import pandas as pd
from sdv.metadata import Metadata

parser = argparse.ArgumentParser()
parser.add_argument("--model", required=True, choices=["hma", "par"])
parser.add_argument("--input", required=True)
parser.add_argument("--output", required=True)
parser.add_argument("--seed", type=int, default=0)
parser.add_argument("--scale", type=float, default=1.0)
parser.add_argument("--quick", action="store_true")
parser.add_argument("--options", default="{}")
args = parser.parse_args()
options = json.loads(args.options)

# SDV has no seed argument: its models draw from the global generators of this process
random.seed(args.seed)
np.random.seed(args.seed)
try:
    import torch

    torch.manual_seed(args.seed)
except ImportError:
    pass

src, out = Path(args.input), Path(args.output)
meta = json.loads((src / "metadata.json").read_text())
tables = {t["name"]: pd.read_parquet(src / f"{t['name']}.parquet") for t in meta["tables"]}
pks = {t["name"]: t["primary_key"] for t in meta["tables"]}
seqs = {t["name"]: t["sequence_key"] for t in meta["tables"]}
fks = meta["foreign_keys"]
timing = out / "timing.json"


def write_timing(**values):
    timing.write_text(json.dumps(values))


def as_dates(frame, column):
    """Text dates (a CSV) as datetimes, so SDV models them as dates."""
    if frame[column].dtype == object or pd.api.types.is_string_dtype(frame[column].dtype):
        parsed = pd.to_datetime(frame[column], format="ISO8601", errors="coerce")
        if parsed.notna().sum() == frame[column].notna().sum():
            return parsed
    return frame[column]


if args.model == "hma":
    sdv_meta = Metadata.detect_from_dataframes(tables, infer_keys=None)
    for name, pk in pks.items():
        if pk is not None:
            sdv_meta.update_column(pk, table_name=name, sdtype="id")
            sdv_meta.set_primary_key(pk, table_name=name)
    for fk in fks:
        sdv_meta.update_column(fk["column"], table_name=fk["child"], sdtype="id")
        sdv_meta.add_relationship(fk["parent"], fk["child"], fk["parent_column"], fk["column"])
    from sdv.multi_table import HMASynthesizer

    params = {}
    synth = HMASynthesizer(sdv_meta, verbose=False)
    t0 = time.perf_counter()
    synth.fit(tables)
    fit_s = time.perf_counter() - t0
    write_timing(fit_s=fit_s)
    t0 = time.perf_counter()
    sampled = synth.sample_scale(scale=args.scale)
    sample_s = time.perf_counter() - t0
else:
    if len(tables) != 2 or len(fks) != 1:
        raise SystemExit("par needs exactly one subject table and one sequence table")
    fk = fks[0]
    child, parent = fk["child"], fk["parent"]
    seq = seqs[child]
    ctx_cols = [c for c in tables[parent].columns if c != fk["parent_column"]]
    frame = tables[child].merge(
        tables[parent].rename(columns={fk["parent_column"]: fk["column"]}),
        on=fk["column"],
        how="left",
    )
    if seq is not None:
        frame[seq] = as_dates(frame, seq)
    sdv_meta = Metadata.detect_from_dataframes({child: frame}, infer_keys=None)
    sdv_meta.update_column(fk["column"], table_name=child, sdtype="id")
    sdv_meta.set_sequence_key(fk["column"], table_name=child)
    if seq is not None:
        sdv_meta.set_sequence_index(seq, table_name=child)
    from sdv.sequential import PARSynthesizer

    epochs = int(options.get("epochs", 2 if args.quick else 128))
    params = {"epochs": epochs}
    synth = PARSynthesizer(
        sdv_meta, context_columns=ctx_cols or None, epochs=epochs, cuda=False, verbose=False
    )
    t0 = time.perf_counter()
    synth.fit({child: frame})
    fit_s = time.perf_counter() - t0
    write_timing(fit_s=fit_s)
    n_subjects = max(1, round(args.scale * len(tables[parent])))
    t0 = time.perf_counter()
    rows = synth.sample_sequences(num_sequences=n_subjects)
    rows = rows[child] if isinstance(rows, dict) else rows
    sample_s = time.perf_counter() - t0
    subjects = rows[[fk["column"], *ctx_cols]].drop_duplicates(fk["column"])
    subjects = subjects.rename(columns={fk["column"]: fk["parent_column"]})
    sampled = {
        parent: subjects[list(tables[parent].columns)].reset_index(drop=True),
        child: rows[list(tables[child].columns)].reset_index(drop=True),
    }
    if seq is not None and not pd.api.types.is_numeric_dtype(tables[child][seq].dtype):
        # back to the text form of the input, as the other generators give it
        col = sampled[child][seq]
        if pd.api.types.is_datetime64_any_dtype(col.dtype):
            sampled[child][seq] = col.dt.strftime("%Y-%m-%d").where(col.notna(), None)

for name, frame in sampled.items():
    frame.to_parquet(out / f"{name}.parquet", index=False)
write_timing(fit_s=fit_s, sample_s=sample_s, params=params)
