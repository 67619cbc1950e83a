"""Fit on a table stored as Parquet parts, each process reading only its own share.

:func:`fit_parts` takes a folder of Parquet files (or a list of them, or one file). In one
process it reads them all and fits as :meth:`fit` does. Under ``torchrun`` (several processes
in a ``torch.distributed`` group) with a neural generator:

1. every rank reads only its run of the parts' row groups, about ``1/N`` of the rows
   (:func:`synthgen.parquet_parts.rank_units`; the ranks' rows in rank order are the table's);
2. the schema and the encoder are fitted **once, on rank 0**, from the rows of every rank (all
   of them by default, so they are the schema and encoder one process would fit on the whole
   table; ``fit_rows`` for a seeded sample instead), which the ranks send as Parquet bytes;
   rank 0 sends the fitted schema and encoder back as JSON (no pickles travel);
3. each rank encodes its own rows and training runs data-parallel with each global batch of
   ``batch_size`` rows drawn from every rank's rows in proportion to its share
   (:mod:`synthgen.training.sharding`): the batch size, steps per epoch and learning-rate
   schedule are those of one process on the whole table.

The same seed, parts and number of processes give the same weights. Rank 0 holds the rows
sent for the encoder fit while it fits (the whole table unless ``fit_rows`` is set); every
rank trains on its own rows only. The parts are read into memory: a rank's share must fit.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from synthgen import exceptions
from synthgen.csv_parts import csv_to_parts, is_csv
from synthgen.exceptions import (
    ConfigurationError,
    DataError,
    SchemaError,
    SynthgenError,
)
from synthgen.generators.base import resolve_schema
from synthgen.generators.neural import NeuralGenerator
from synthgen.generators.params import validate_params
from synthgen.generators.streamed import fit_streamed, streams
from synthgen.parquet_parts import ParquetParts, frame_from_bytes, frame_to_bytes, rank_units
from synthgen.schema import Schema, check_frame
from synthgen.training import distributed as dist
from synthgen.training.sharding import (
    all_counts,
    broadcast_bytes,
    gather_bytes,
    sharded_input,
)
from synthgen.transforms import TableEncoder

__all__ = ["fit_parts"]

Source = str | os.PathLike[str] | Sequence[str | os.PathLike[str]]


def fit_parts(
    model: Any,
    source: Source,
    schema: Schema | None = None,
    *,
    fit_rows: int | None = None,
    csv: dict[str, Any] | None = None,
) -> Any:
    """Fit ``model`` on the table stored in the Parquet parts ``source``; returns it.

    Parameters
    ----------
    model : generator
        An unfitted generator (``sg.make_generator(...)``).
    source : path or list of paths
        A folder of Parquet files (read in name order), one file, or a list of files; or one
        CSV file (``.csv``, ``.csv.gz``, ``.tsv``, ``.tsv.gz``), first rewritten as Parquet
        parts in a temporary folder in two streamed passes (:mod:`synthgen.csv_parts`), in one
        process.
    schema : Schema, optional
        Column kinds; inferred on rank 0 from the rows it fits the encoder on when omitted.
    fit_rows : int, optional
        Under several processes: the rows rank 0 fits the schema and encoder on, a seeded
        sample drawn across the ranks (default: every row). A label missing from the sample
        is refused (``SchemaError``) when its rank encodes it. In one process: the size of
        the sample the schema and encoder are fitted on, while the copula's correlation, or
        a neural generator's training rows (compactly encoded), come from every row, read
        one row group at a time, so the table is never in memory as a DataFrame
        (:mod:`synthgen.generators.streamed`).
    csv : dict, optional
        ``sep``, ``dtype``, ``na_values`` of a CSV ``source`` (as ``sg.read_table`` takes).

    Examples
    --------
    >>> import tempfile, pathlib
    >>> import synthgen as sg
    >>> scratch = tempfile.TemporaryDirectory()  # removed after the example
    >>> folder = pathlib.Path(scratch.name)
    >>> rng = np.random.default_rng(0)
    >>> for i in range(2):
    ...     pd.DataFrame({"x": rng.normal(size=50)}).to_parquet(folder / f"part-{i}.parquet")
    >>> model = fit_parts(sg.make_generator("marginals", random_state=0), folder)
    >>> model.n_train_rows_
    100
    """
    if fit_rows is not None and (
        isinstance(fit_rows, bool) or not isinstance(fit_rows, int) or fit_rows < 1
    ):
        raise ConfigurationError(f"fit_rows must be a positive integer or None, got {fit_rows!r}")
    if is_csv(source):
        if dist.world_size() > 1:
            raise ConfigurationError(
                "a CSV file is read by one process: write it as Parquet parts for torchrun"
            )
        with tempfile.TemporaryDirectory(prefix="synthgen-csv-") as folder:
            csv_to_parts(source, folder, **(csv or {}))  # type: ignore[arg-type]
            return fit_parts(model, folder, schema, fit_rows=fit_rows)
    if csv:
        raise ConfigurationError("csv options (sep, dtype, na_values) are for a CSV source")
    parts = ParquetParts(source)
    several = dist.world_size() > 1
    if not several or not isinstance(model, NeuralGenerator):
        if several:
            raise ConfigurationError(
                f"{type(model).__name__} does not train across processes: fit it on the "
                "parts in one process (without torchrun), or use a neural generator "
                "(transformer, diffusion, vae, gan)"
            )
        if fit_rows is not None and fit_rows < parts.n_rows and streams(model):
            return fit_streamed(model, parts, schema, fit_rows)  # never all rows in memory
        return model.fit(parts.read(parts.units), schema=schema)
    validate_params(model)
    model._check_params()
    rng = model._fit_rng()  # starts the process group under torchrun; the same on every rank
    rank, world = dist.rank(), dist.world_size()
    local = parts.read(rank_units(parts, rank, world))
    counts = all_counts(len(local))  # every rank learns of an empty share: none waits alone
    if min(counts) == 0:
        raise DataError(
            f"process {counts.index(0)} of {world} got no rows from the Parquet parts (empty "
            "row groups): write the table in more row groups, or start fewer processes"
        )
    local = check_frame(local)
    sample_seed, fit_seed, encode_seed = (int(s) for s in rng.integers(2**62, size=3))
    sent = local
    if fit_rows is not None and fit_rows < parts.n_rows:
        take = min(len(local), -(-fit_rows * len(local) // parts.n_rows))
        keep = np.random.default_rng([sample_seed, rank]).choice(len(local), take, replace=False)
        sent = local.iloc[np.sort(keep)]
    blobs = gather_bytes(frame_to_bytes(sent))
    state, failure = (_fit_on_rank0(model, blobs, schema, fit_seed)) if rank == 0 else (b"", None)
    found = json.loads(broadcast_bytes(state).decode("utf-8"))
    if failure is not None:
        raise failure
    if "error" in found:  # rank 0 refused the data: every rank stops with its message
        raise _error_class(found["error_type"])(found["error"])
    schema = Schema.from_json_text(found["schema"])
    encoder = TableEncoder.from_state(found["encoder"], schema)
    model._adjust_encoder(encoder)
    schema.check_constraints(local)
    try:
        matrix = encoder.transform(
            local,
            random_state=np.random.default_rng([encode_seed, rank]),
            compact=model.compact_training,
        )
    except SchemaError as err:  # a label the encoder's rows did not have (fit_rows)
        raise SchemaError(f"the rows of process {rank} do not fit the encoder: {err}") from None
    model.schema_, model.encoder_, model.n_train_rows_ = schema, encoder, parts.n_rows
    with sharded_input():
        model._fit_encoded(matrix, rng)
    # What a generator learns after training from its own rows (the VAE's mixture prior over
    # latent codes) and the sampling stream's seed: rank 0's on every rank, so they hold one model.
    model._seed_stream(int(broadcast_bytes(str(int(rng.integers(2**62))).encode()).decode()))
    _share_state(model, rank)
    return model


def _share_state(model: Any, rank: int) -> None:
    """Rank 0's learned state (JSON and safetensors bytes, as saved) set on every rank."""
    from safetensors.numpy import load, save

    meta_blob = weights = None
    if rank == 0:
        meta, arrays = model.get_state()
        meta_blob, weights = json.dumps(meta).encode("utf-8"), save(arrays) if arrays else b""
    meta_blob, weights = broadcast_bytes(meta_blob), broadcast_bytes(weights)
    if rank != 0:
        model.set_state(json.loads(meta_blob.decode("utf-8")), load(weights) if weights else {})


def _error_class(name: Any) -> type[SynthgenError]:
    """The synthgen exception class called ``name`` (SynthgenError for anything else)."""
    found = getattr(exceptions, str(name), None)
    if isinstance(found, type) and issubclass(found, SynthgenError):
        return found
    return SynthgenError


def _fit_on_rank0(
    model: Any, blobs: list[bytes] | None, schema: Schema | None, seed: int
) -> tuple[bytes, BaseException | None]:
    """Fit the schema and encoder on the rows every rank sent: the JSON bytes to broadcast,
    and the exception to raise here once the other ranks have been told."""
    try:
        frames = [frame_from_bytes(b) for b in blobs or []]
        data = check_frame(pd.concat(frames, ignore_index=True) if len(frames) > 1 else frames[0])
        schema = resolve_schema(data, schema, stacklevel=4)
        encoder = TableEncoder(**model.encoder_params).fit(
            data, schema, random_state=np.random.default_rng(seed)
        )
        state = {"schema": schema.to_json(), "encoder": encoder.get_state()}
        return json.dumps(state).encode("utf-8"), None
    except Exception as err:  # the other ranks wait for the broadcast: tell them first
        found = {"error": str(err), "error_type": type(err).__name__}
        return json.dumps(found).encode("utf-8"), err
