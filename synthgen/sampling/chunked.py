"""Sampling straight to disk, chunk by chunk: a Parquet folder or one CSV file, at flat memory.

Rows are drawn in fixed blocks of :data:`BLOCK_ROWS`; block ``b`` is drawn with its own
generator seeded from ``(base seed, b)``, where the base seed comes from ``random_state`` (or
the model's own stream). ``chunk_size`` only groups rows into files, so the same seed gives
the same rows whatever the chunk size. Identifiers are numbered over the whole output.
With ``n_jobs`` above one, worker processes draw and write whole chunks: the same output
(:mod:`synthgen.sampling.workers`).

The output is written atomically: into a hidden temporary folder next to ``path`` that is
renamed to ``path`` once every chunk is written and synced; on any error (an exception, a full
disk, Ctrl-C) the temporary folder is removed and nothing is left at ``path``.
"""

from __future__ import annotations

import gzip
import os
import shutil
import tempfile
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

from synthgen.exceptions import ConfigurationError, PersistenceError
from synthgen.sampling.conditions import parse_conditions
from synthgen.sampling.workers import (
    PartSpec,
    model_from,
    piece_path,
    resolve_n_jobs,
    write_parts,
)
from synthgen.sampling.writer import (
    ChunkWriter,
    csv_options,
    join_tables,
    move_into_place,
    to_arrow,
)
from synthgen.tabular_csv import is_csv_name
from synthgen.utils import check_n_samples, check_random_state

__all__ = [
    "BLOCK_ROWS",
    "DEFAULT_CHUNK_SIZE",
    "block_frames",
    "check_request",
    "check_target",
    "number_ids",
    "part_task",
    "sample_to",
    "write_part",
]

#: Rows drawn per seeded block (fixed, so rows do not depend on the chunk size).
BLOCK_ROWS = 65_536
#: Rows per written chunk (a Parquet part, or a batch of CSV lines) by default.
DEFAULT_CHUNK_SIZE = 4 * BLOCK_ROWS


def check_request(n_samples: Any, chunk_size: Any, fmt: str | None, path: Path, conditions: Any):
    """The checked row count, chunk size and format (``"parquet"``, or ``"csv"`` for a path
    ending in ``.csv`` or ``.tsv``, either gzipped, when ``fmt`` is ``None``) of a chunked
    write; ``ConfigurationError`` naming what is wrong."""
    n = check_n_samples(n_samples)
    if isinstance(chunk_size, bool) or not isinstance(chunk_size, (int, np.integer)):
        raise ConfigurationError(f"chunk_size must be a positive integer, got {chunk_size!r}")
    if chunk_size < 1:
        raise ConfigurationError(f"chunk_size must be a positive integer, got {chunk_size!r}")
    if fmt is None:
        fmt = "csv" if is_csv_name(path) else "parquet"
    if fmt not in ("parquet", "csv"):
        raise ConfigurationError(f"format must be 'parquet' or 'csv', got {fmt!r}")
    if conditions is not None and not isinstance(conditions, Mapping):
        raise ConfigurationError(
            "sample_to takes conditions as a mapping {column: value}; per-row conditions "
            f"(a DataFrame) are for sample(); got {type(conditions).__name__}"
        )
    return n, int(chunk_size), fmt


def check_target(path: Path, overwrite: bool) -> None:
    """``PersistenceError`` unless ``path`` can be written: its folder exists, and an existing
    ``path`` is replaced only with ``overwrite`` (a folder only when it holds Parquet parts
    alone)."""
    folder = path.parent if str(path.parent) else Path(".")
    if not folder.is_dir():
        raise PersistenceError(f"cannot write {str(path)!r}: folder {str(folder)!r} does not exist")
    if not path.exists():
        return
    if not overwrite:
        raise PersistenceError(
            f"cannot write {str(path)!r}: it already exists (pass overwrite=True to replace it)"
        )
    if path.is_dir() and any(not _is_part(p.name) for p in path.iterdir()):
        # Never delete a folder we did not write: only one made of our Parquet parts.
        raise PersistenceError(
            f"cannot replace {str(path)!r}: it is a folder holding files other than "
            "sampled Parquet parts"
        )


def _is_part(name: str) -> bool:
    return name.startswith("part-") and name.endswith(".parquet")


def number_ids(model: Any, frame: pd.DataFrame, start: int, total: int) -> pd.DataFrame:
    """Identifier columns numbered ``start + 1 ...`` (as one ``sample(total)`` call would)."""
    for spec in model.schema_:
        if spec.kind != "id":
            continue
        numbers = np.arange(start + 1, start + len(frame) + 1, dtype=np.int64)
        if spec.id_prefix is None:
            frame[spec.name] = pd.Series(numbers).astype(spec.dtype).to_numpy()
        else:
            width = max(6, len(str(total)))
            frame[spec.name] = [f"{spec.id_prefix}{i:0{width}d}" for i in numbers]
    return frame


def block_frames(
    model: Any,
    base: int,
    start: int,
    stop: int,
    total: int,
    conditions: Any = None,
    block: int | None = None,
) -> Iterator[pd.DataFrame]:
    """Rows ``start .. stop - 1`` of the ``total`` rows that :func:`sample_to` draws with the
    base seed ``base`` in blocks of ``block`` rows (default :data:`BLOCK_ROWS`), one frame per
    block they overlap: the same rows, whoever draws them (a worker drawing one part draws
    the blocks that part overlaps)."""
    block = BLOCK_ROWS if block is None else block
    for b in range(start // block, (stop - 1) // block + 1):
        size = min(block, total - b * block)
        frame = model.sample(
            size, conditions=conditions, random_state=np.random.default_rng([base, b])
        )
        frame = number_ids(model, frame, b * block, total)
        lo, hi = max(start - b * block, 0), min(stop - b * block, size)
        yield frame if (lo, hi) == (0, size) else frame.iloc[lo:hi].reset_index(drop=True)


def write_part(
    model: Any,
    tmp: str | Path,
    part: int,
    spec: PartSpec,
    schema: pa.Schema | None,
    conditions: Any,
    csv: tuple[str, bool] | None = None,
) -> pa.Schema | None:
    """Draw part ``part`` (rows of ``spec``) and write it into the folder ``tmp``: a Parquet
    part with Arrow ``schema`` (``None``: its own, which is returned), or with ``csv``
    (separator, gzip) a piece of the CSV file (the header in part 0 only)."""
    base, start, stop, total, block = spec
    frames = block_frames(model, base, start, stop, total, conditions, block=block)
    if csv is not None:
        sep, gz = csv
        texts = (
            f.to_csv(index=False, header=part == 0 and i == 0, sep=sep)
            for i, f in enumerate(frames)
        )
        data = "".join(texts).encode("utf-8")
        piece_path(Path(tmp), part).write_bytes(gzip.compress(data) if gz else data)
        return None
    table = join_tables([to_arrow(f, part) for f in frames], part)
    writer = ChunkWriter(Path(tmp), "parquet", Path(tmp))
    writer.schema, writer.parts, writer.settled = schema, part, schema is not None
    try:
        writer.write_table(table)
        writer.close()
    except BaseException:
        writer.abort()
        raise
    return writer.schema


def part_task(
    digest: str, tmp: str, part: int, spec: PartSpec, schema: Any, conditions: Any, csv: Any
) -> pa.Schema | None:
    """:func:`write_part` in a worker process, with the model it loaded at its start."""
    return write_part(model_from(None, digest), tmp, part, spec, schema, conditions, csv)


def sample_to(
    model: Any,
    path: str | os.PathLike[str],
    n_samples: int,
    *,
    chunk_size: int = DEFAULT_CHUNK_SIZE,
    random_state: Any = None,
    conditions: Mapping[str, Any] | None = None,
    format: str | None = None,
    overwrite: bool = False,
    n_jobs: int | None = None,
) -> Path:
    """Draw ``n_samples`` rows of a fitted ``model`` into ``path``; see the module docstring.
    ``n_jobs`` worker processes (``-1``: one per CPU) draw and write whole chunks, the same
    output as one process (:mod:`synthgen.sampling.workers`).

    Examples
    --------
    >>> import tempfile, pathlib
    >>> import synthgen as sg
    >>> df = pd.DataFrame({"x": np.arange(40.0), "c": ["a", "b"] * 20})
    >>> model = sg.make_generator("marginals", random_state=0).fit(df)
    >>> scratch = tempfile.TemporaryDirectory()  # removed after the example
    >>> folder = pathlib.Path(scratch.name)
    >>> out = sample_to(model, folder / "rows", 1000, chunk_size=300, random_state=1)
    >>> sorted(p.name for p in out.iterdir())[:2], len(pd.read_parquet(out))
    (['part-00000.parquet', 'part-00001.parquet'], 1000)
    """
    model._check_fitted()
    target = Path(os.fspath(path))
    n, chunk, fmt = check_request(n_samples, chunk_size, format, target, conditions)
    jobs = resolve_n_jobs(n_jobs)
    if conditions is not None:  # checked here, before any block or worker
        parse_conditions(conditions, model.schema_)
    check_target(target, overwrite)
    rng = model.rng_ if random_state is None else check_random_state(random_state)
    base = int(rng.integers(2**63 - 1))
    specs = [(base, s, min(s + chunk, n), n, BLOCK_ROWS) for s in range(0, n, chunk)]
    try:
        tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent))
    except OSError as err:
        raise PersistenceError(f"cannot write {str(target)!r}: {err.strerror or err}") from None
    writer: ChunkWriter | None = None
    verbose = model.verbose
    try:
        if jobs > 1 and len(specs) > 1:
            csv = csv_options(target) if fmt == "csv" else None
            source = write_parts(model, tmp, specs, conditions, jobs, part_task, csv)
        else:
            writer = ChunkWriter(tmp, fmt, target)
            model.verbose = False  # one bar per block would be noise
            _write_blocks(model, writer, base, n, chunk, conditions)
            writer.close()
            source = writer.output
        move_into_place(tmp, fmt, target, source)
    except BaseException as err:
        # Any failure, Ctrl-C included: nothing half-written is left at (or next to) path.
        if writer is not None:
            writer.abort()
        shutil.rmtree(tmp, ignore_errors=True)
        if isinstance(err, OSError) and not isinstance(err, PersistenceError):
            raise PersistenceError(f"cannot write {str(target)!r}: {err.strerror or err}") from None
        raise
    finally:
        model.verbose = verbose
    return target


def _write_blocks(
    model: Any, writer: ChunkWriter, base: int, n: int, chunk: int, conditions: Any
) -> None:
    """Draw the ``n`` rows block by block in this process, writing ``chunk`` rows at a time
    (each block converted to Arrow once, the chunks cut from them without a copy; CSV lines
    written block by block)."""
    tables: list[pa.Table] = []
    held = drawn = 0
    for frame in block_frames(model, base, 0, n, n, conditions):
        if writer.fmt == "csv":
            writer.write(frame)
            continue
        tables.append(to_arrow(frame, writer.parts))
        held, drawn = held + len(frame), drawn + len(frame)
        while held >= chunk or (held and drawn == n):
            rows = join_tables(tables, writer.parts)
            writer.write_table(rows.slice(0, chunk))
            rest = rows.slice(chunk)
            tables, held = ([rest] if rest.num_rows else []), rest.num_rows
