"""Sampling across Ray workers into a Parquet folder (the optional extra ``synthgen[ray]``).

:func:`sample_to_ray` writes the same folder as :meth:`model.sample_to(path, n, chunk_size)
<synthgen.generators.base.BaseGenerator.sample_to>`, part for part, whatever the number of
workers: part ``i`` holds rows ``i * chunk_size ...``, drawn from the same seeded blocks of
:data:`~synthgen.sampling.chunked.BLOCK_ROWS` rows (block ``b`` seeded from the base seed and
``b``; the base seed from ``random_state`` or the model's stream, drawn here as there), and
with the Arrow schema the single process settles on (part 0's, a column missing in all its
rows typed by the first part that has a value; the parts are written at once, and one whose
inferred schema differs is written again). Each Ray task draws one part;
the model travels as its saved file (JSON and safetensors, no pickle) and each worker loads
it once. Rows depend on the model's ``n_threads`` as in one process (float rounding of
large reductions): keep it equal to compare outputs.

The output is atomic like ``sample_to``'s: parts go into a hidden temporary folder next to
``path`` (which every worker must see: a shared file system on a cluster), renamed at the end;
on any error nothing is left at ``path``.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

from synthgen.exceptions import ConfigurationError, PersistenceError
from synthgen.sampling.chunked import (
    BLOCK_ROWS,
    DEFAULT_CHUNK_SIZE,
    check_request,
    check_target,
    write_part,
)
from synthgen.sampling.workers import PartSpec, model_blob, model_from
from synthgen.sampling.writer import move_into_place, settle_schema
from synthgen.tabular_csv import is_csv_name
from synthgen.training.threads import resolve_n_threads
from synthgen.utils import check_random_state

__all__ = ["sample_to_ray"]


def _ray() -> Any:
    try:
        import ray
    except ImportError:
        raise ConfigurationError(
            "sampling on Ray needs the optional dependency ray: pip install 'synthgen[ray]'"
        ) from None
    return ray


def _write_part(
    blob: bytes,
    digest: str,
    cls: type,
    tmp: str,
    part: int,
    spec: PartSpec,
    schema: Any,
    conditions: Any,
) -> Any:
    """Draw part ``part`` (the rows of ``spec``) and write it into ``tmp``; returns its Arrow
    schema."""
    return write_part(model_from(blob, digest, cls), tmp, part, spec, schema, conditions)


def sample_to_ray(
    model: Any,
    path: str | os.PathLike[str],
    n_samples: int,
    *,
    chunk_size: int = DEFAULT_CHUNK_SIZE,
    random_state: Any = None,
    conditions: Any = None,
    overwrite: bool = False,
) -> Path:
    """Draw ``n_samples`` rows of the fitted ``model`` into the Parquet folder ``path``, one
    Ray task per part (``ray.init()`` is called if Ray is not running: a local Ray, or the
    cluster of ``RAY_ADDRESS``).

    Returns the written folder, whose parts equal those of ``model.sample_to(path,
    n_samples, chunk_size=..., random_state=...)``.
    """
    ray = _ray()
    model._check_fitted()
    target = Path(os.fspath(path))
    n, chunk, _ = check_request(n_samples, chunk_size, "parquet", target, conditions)
    if is_csv_name(target):
        raise ConfigurationError("sampling on Ray writes a Parquet folder, not one CSV file")
    check_target(target, overwrite)
    rng = model.rng_ if random_state is None else check_random_state(random_state)
    base = int(rng.integers(2**63 - 1))
    blob = model_blob(model)
    if not ray.is_initialized():
        ray.init()
    try:
        tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent))
    except OSError as err:
        raise PersistenceError(f"cannot write {str(target)!r}: {err.strerror or err}") from None
    try:
        _run_tasks(ray, model, blob, tmp, base, n, chunk, conditions)
        move_into_place(tmp, "parquet", target, tmp)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return target


def _run_tasks(ray, model, blob, tmp: Path, base: int, n: int, chunk: int, conditions) -> None:
    # A task holds the CPUs its sampling uses (the model's n_threads), so none oversubscribe.
    threads = resolve_n_threads(model.n_threads) if hasattr(model, "n_threads") else 1
    task = ray.remote(num_cpus=threads)(_write_part)
    ref = ray.put(blob)
    digest = hashlib.sha256(blob).hexdigest()
    specs = [(base, s, min(s + chunk, n), n, BLOCK_ROWS) for s in range(0, n, chunk)]
    schemas = ray.get(
        [
            task.remote(ref, digest, type(model), str(tmp), i, spec, None, conditions)
            for i, spec in enumerate(specs)
        ]
    )
    # Every part with the schema one process settles on; a part whose own differs (a column
    # all missing in it, or in part 0, say) is written again with it.
    schema, again = settle_schema(schemas)
    ray.get(
        [
            task.remote(ref, digest, type(model), str(tmp), i, specs[i], schema, conditions)
            for i in again
        ]
    )
