"""Sampling to disk in several local processes: ``model.sample_to(path, n, n_jobs=k)``.

Part ``i`` of the output holds rows ``i * chunk_size ...``, drawn from the same seeded blocks
that :func:`~synthgen.sampling.chunked.sample_to` draws in one process (block ``b`` seeded
from the base seed and ``b``), so the output does not depend on ``n_jobs``: the same Parquet
parts byte for byte (a part whose inferred Arrow schema differs from the one a single process
settles on, :func:`~synthgen.sampling.writer.settle_schema`, is written again with it), or a
CSV file
with the same lines (a ``.csv.gz`` holds one gzip member per part, which gzip readers read as
one stream).

Each worker is a fresh interpreter (``spawn``: about 3 s to import synthgen and torch) that
loads the model once from its saved file (JSON and safetensors sent as bytes, never a pickle)
and writes whole parts into the temporary folder; the calling process joins a CSV file's
pieces in order, then moves the output into place. Memory: each worker holds one part
(``chunk_size`` rows) at a time. Each worker runs the model's ``n_threads`` torch threads (one
for models without), so ``n_jobs`` workers use ``n_jobs x n_threads`` CPUs. As with any
``spawn``-based pool, a script that samples with ``n_jobs > 1`` must guard its top level with
``if __name__ == "__main__":`` (each worker imports the main module).

:mod:`synthgen.ray_sampling` spreads the same parts over Ray workers.
"""

from __future__ import annotations

import contextlib
import hashlib
import multiprocessing
import numbers
import os
import shutil
import sys
import tempfile
from collections.abc import Callable
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path
from typing import Any

import pyarrow as pa

from synthgen.exceptions import ConfigurationError, SamplingWorkerError
from synthgen.sampling.writer import settle_schema

__all__ = ["PartSpec", "model_blob", "model_from", "piece_path", "resolve_n_jobs", "write_parts"]

#: Models loaded in this process, by the SHA-256 of their file (one at a time).
_LOADED: dict[str, Any] = {}

#: A part's rows: ``(base seed, first row, stop row, total rows, rows per seeded block)``.
PartSpec = tuple[int, int, int, int, int]


def resolve_n_jobs(n_jobs: Any) -> int:
    """The number of worker processes ``n_jobs`` asks for: ``None`` and ``1`` sample in this
    process, ``-1`` takes one per available CPU.

    Examples
    --------
    >>> resolve_n_jobs(None), resolve_n_jobs(3), resolve_n_jobs(-1) >= 1
    (1, 3, True)
    """
    from synthgen.training.threads import available_cpus

    if n_jobs is None:
        return 1
    if isinstance(n_jobs, bool) or not isinstance(n_jobs, numbers.Integral):
        raise ConfigurationError(f"n_jobs must be a positive integer or -1, got {n_jobs!r}")
    if n_jobs == -1:
        return available_cpus()
    if n_jobs < 1:
        raise ConfigurationError(f"n_jobs must be a positive integer or -1, got {n_jobs!r}")
    return int(n_jobs)


def model_blob(model: Any) -> bytes:
    """The bytes of ``model``'s saved file (what travels to a worker)."""
    with tempfile.TemporaryDirectory() as folder:
        saved = Path(folder) / "model.sgm"
        model.save(saved)
        return saved.read_bytes()


def model_from(blob: bytes | None, digest: str, cls: type | None = None) -> Any:
    """The model of class ``cls`` saved in ``blob`` (SHA-256 ``digest``), loaded once per
    process through the class's checked loading from a file (``from_bundle``); ``blob`` and
    ``cls`` may be ``None`` once it is loaded."""
    from synthgen.bundle import read_bundle

    model = _LOADED.get(digest)
    if model is None:
        if blob is None or cls is None:
            raise SamplingWorkerError("this worker process holds no model to sample from")
        with tempfile.TemporaryDirectory() as folder:
            path = Path(folder) / "model.sgm"
            path.write_bytes(blob)
            model = cls.from_bundle(read_bundle(str(path)))
        model.verbose = False  # one bar per block would be noise
        _LOADED.clear()  # one model at a time: a worker serves one sampling job
        _LOADED[digest] = model
    return model


def piece_path(tmp: Path, part: int) -> Path:
    """Where a worker writes part ``part`` of a CSV file, in the temporary folder ``tmp``."""
    return tmp / f"piece-{part:05d}.csv"


def _start_worker(blob: bytes, digest: str, cls: type, threads: int) -> None:
    """Worker set-up: the model, and its thread count in the BLAS pools and in torch (when
    the model uses torch: others do not import it)."""
    from threadpoolctl import threadpool_limits

    threadpool_limits(limits=threads)  # kept for the worker's life
    model_from(blob, digest, cls)
    torch = sys.modules.get("torch")
    if torch is not None:
        torch.set_num_threads(threads)


def write_parts(
    model: Any,
    tmp: Path,
    specs: list[PartSpec],
    conditions: Any,
    n_jobs: int,
    task: Callable[..., pa.Schema | None],
    csv: tuple[str, bool] | None = None,
) -> Path:
    """Write the parts ``specs`` of ``model``'s rows with ``n_jobs`` worker processes into
    ``tmp``: Parquet parts, or with ``csv`` (separator, gzip) one CSV file; returns the
    finished output to move into place (``tmp``, or the joined CSV file).
    ``task(digest, tmp, part, spec, schema, conditions, csv)`` writes one part in a worker
    (:func:`synthgen.sampling.chunked.part_task`). Rows are counted on the model's progress
    bar when it is verbose."""
    from synthgen.training.threads import resolve_n_threads

    blob = model_blob(model)
    digest = hashlib.sha256(blob).hexdigest()
    threads = resolve_n_threads(model.n_threads) if hasattr(model, "n_threads") else 1
    pool = ProcessPoolExecutor(
        max_workers=min(n_jobs, len(specs)),
        mp_context=multiprocessing.get_context("spawn"),
        initializer=_start_worker,
        initargs=(blob, digest, type(model), threads),
    )
    progress = model._progress(specs[-1][3], "sampling") if specs else None
    try:
        futures = [
            pool.submit(task, digest, str(tmp), i, spec, None, conditions, csv)
            for i, spec in enumerate(specs)
        ]
        if csv is not None:
            return _join_pieces(tmp, futures, specs, progress)
        schemas = [_result(f, specs[i], progress) for i, f in enumerate(futures)]
        schema, again = settle_schema(schemas)
        redo = [
            pool.submit(task, digest, str(tmp), i, specs[i], schema, conditions, csv) for i in again
        ]
        for f in redo:
            _result(f)
        return tmp
    finally:
        pool.shutdown(wait=True, cancel_futures=True)  # on an error: no part left running
        if progress is not None:
            progress.close()


def _result(future: Future, spec: PartSpec | None = None, progress: Any = None) -> Any:
    """A part's result; a worker that died (killed, out of memory, or a main module without
    its ``__main__`` guard) is a :class:`SamplingWorkerError`."""
    try:
        out = future.result()
    except BrokenProcessPool as err:
        raise SamplingWorkerError(
            f"a sampling worker process stopped before its part was written ({err}). Each "
            "worker imports the main module: a script that samples with n_jobs > 1 must "
            "guard its top level with `if __name__ == '__main__':`; each also holds one "
            "part of chunk_size rows in memory"
        ) from None
    if progress is not None and spec is not None:
        progress.update(spec[2] - spec[1])
    return out


def _join_pieces(tmp: Path, futures: list[Future], specs: list[PartSpec], progress: Any) -> Path:
    """Append the CSV pieces to one file in part order as they arrive; the file."""
    out = tmp / "table"
    with open(out, "wb") as fh:
        for i, future in enumerate(futures):
            _result(future, specs[i], progress)
            piece = piece_path(tmp, i)
            with open(piece, "rb") as src:
                shutil.copyfileobj(src, fh)
            with contextlib.suppress(OSError):
                os.remove(piece)
        fh.flush()
        os.fsync(fh.fileno())
    return out
