"""The draw of export in parts through the copy filter spilled to disk.

The filter in memory checks each block of synthetic rows as it is drawn; the spilled one
(:class:`~synthgen.privacy.spilled.SpilledCopyFilter`) reads every partition of the training
rows for each check, so it checks *rounds*: every block's rows drawn and spilled, then one
pass over the partitions for all of them (:func:`check_rounds`). The rows each block drops
are redrawn in the next round from that block's own generator, as
:func:`~synthgen.safe_export.draw_kept` redraws them, until no row is missing or a round keeps
nothing (at most :data:`~synthgen.safe_export.MAX_REDRAW_ROUNDS` rounds). Only which rows each
round kept is held (a bit a row); :func:`kept_blocks` then draws every block again from its
seed, in the same order, and keeps those rows: the same rows as checked, drawn twice instead
of held.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from synthgen.evaluation.data import PreparedData
from synthgen.parquet_parts import ParquetParts
from synthgen.privacy.copies import CopyFilter, copy_decision, merge_holdout_labels
from synthgen.privacy.spilled import SpilledCopyFilter, SpilledRows
from synthgen.safe_export import MAX_REDRAW_ROUNDS, draw_kept, joined_rows
from synthgen.safe_export.passes import Split, prepare_parts, spill_parts
from synthgen.sampling.chunked import BLOCK_ROWS, number_ids
from synthgen.schema import Schema

__all__ = [
    "Block",
    "FilterSource",
    "check_rounds",
    "filtered_blocks",
    "kept_blocks",
    "write_blocks",
]


@dataclass
class Block:
    """One block of synthetic rows: what each round drew and kept.

    Attributes
    ----------
    want : int
        Rows the block should keep.
    drawn : list of int
        Rows drawn in each round.
    kept : list of ndarray
        Which of them were kept, as packed bits.
    n_kept : int
        Rows kept so far.
    state : dict or None
        The block's generator after its last draw.
    """

    want: int
    drawn: list[int] = field(default_factory=list)
    kept: list[np.ndarray] = field(default_factory=list)
    n_kept: int = 0
    state: dict[str, Any] | None = None


def _rng(base: int, b: int, state: dict[str, Any] | None) -> np.random.Generator:
    rng = np.random.default_rng([base, b])
    if state is not None:
        rng.bit_generator.state = state
    return rng


def check_rounds(
    model: Any,
    n_rows: int,
    filt: SpilledCopyFilter,
    prep: PreparedData,
    base: int,
    folder: Path,
    bar: Any,
) -> list[Block] | None:
    """Draw ``n_rows`` rows in blocks (block ``b`` from a generator seeded ``(base, b)``)
    and check them in rounds; returns the blocks, or ``None`` when the near-copy limit the
    holdout sets cannot be served by the partitions (several categories whose groups most
    rows share: check in memory instead)."""
    if not filt.settle():
        return None  # before drawing any row
    blocks = [Block(min(BLOCK_ROWS, n_rows - s)) for s in range(0, n_rows, BLOCK_ROWS)]
    pending = list(range(len(blocks)))
    for r in range(MAX_REDRAW_ROUNDS):
        if not pending:
            break
        query = SpilledRows(
            folder / f"round-{r}",
            filt.train.n_parts,
            len(prep.numeric),
            len(prep.categorical),
            sample_rows=0,
        )
        try:
            for b in pending:
                blk = blocks[b]
                rng = _rng(base, b, blk.state)
                rows = model.sample(blk.want - blk.n_kept, random_state=rng)
                blk.state = rng.bit_generator.state
                blk.drawn.append(len(rows))
                query.add(*prep.encode(rows, "synthetic rows"))
            counts, near = filt.measure(query)
        finally:
            query.remove()
        start, redraw = 0, []
        for b in pending:
            blk = blocks[b]
            n = blk.drawn[-1]
            rows = slice(start, start + n)
            keep = ~copy_decision(filt.stats, counts[rows], near[rows], n_rows)
            start += n
            blk.kept.append(np.packbits(keep))
            blk.n_kept += int(keep.sum())
            bar.update(int(keep.sum()))
            if blk.n_kept < blk.want and keep.any():
                redraw.append(b)
        pending = redraw
    return blocks


def kept_blocks(model: Any, blocks: list[Block], base: int) -> Iterator[tuple[int, pd.DataFrame]]:
    """Each block's rows to keep (and how many it wanted), drawn again from its seed."""
    for b, blk in enumerate(blocks):
        rng = _rng(base, b, None)
        kept = []
        for n, packed in zip(blk.drawn, blk.kept, strict=True):
            rows = model.sample(n, random_state=rng)
            keep = np.unpackbits(packed, count=n).astype(bool)
            kept.append(rows if keep.all() else rows[keep])
        yield blk.want, joined_rows(kept)


@dataclass
class FilterSource:
    """What the copy filter of export in parts reads: the protected training parts, the
    split (its row counts, missing cells and holdout sample), the fitted schema, the label
    counts after the protections, the labels rare ones were merged into and the
    protections."""

    protected: ParquetParts
    split: Split
    schema: Schema
    counts: dict[str, pd.Series]
    merged: dict[str, Any]
    protections: Any

    def coder(self) -> tuple[Any, ...]:
        """The arguments :func:`~synthgen.safe_export.passes.prepare_parts` takes."""
        split = self.split
        return (
            self.protected,
            split.n_train,
            split.holdout_sample,
            self.schema,
            self.counts,
            split.missing,
        )


def filtered_blocks(
    model: Any, source: FilterSource, base: int, folder: Path, bar: Any
) -> tuple[Any, Iterator[tuple[int, pd.DataFrame]]]:
    """The copy filter of export in parts and the blocks of rows it keeps, ``(wanted, rows)``
    in order: spilled to ``folder`` by partition (:func:`check_rounds`), or in memory where
    the partitions cannot serve the holdout's near-copy limit (the filter ``None`` when the
    protections turn it off)."""
    n_rows, protections = source.split.n_train, source.protections
    if not protections.filter_copies:
        return None, _blocks(model, n_rows, None, base, bar)
    prep, train = spill_parts(*source.coder(), folder / "train")
    held = {name: len(source.counts[name]) for name in prep.categorical}
    merge_holdout_labels(prep, source.merged, held)
    holdout = (prep.num["holdout"], prep.codes["holdout"])
    filt = SpilledCopyFilter(train, holdout, protections.near_copy_quantile)
    rounds = check_rounds(model, n_rows, filt, prep, base, folder, bar)
    train.remove()
    if rounds is not None:
        return filt, kept_blocks(model, rounds, base)
    bar.reset()
    check = CopyFilter(
        None,  # type: ignore[arg-type]
        source.split.holdout_sample,
        source.schema,
        protections.near_copy_quantile,
        n_rows,
        source.merged,
        prepared=prepare_parts(*source.coder()),
    )
    return check, _blocks(model, n_rows, check, base, bar)


def _blocks(model, n_rows, check, base, bar) -> Iterator[tuple[int, pd.DataFrame]]:
    """Block ``b`` of ``n_rows`` rows (and its redraws through the filter ``check``) from a
    generator seeded with ``(base, b)``, so ``chunk_rows`` only groups the rows into files."""
    for b, start in enumerate(range(0, n_rows, BLOCK_ROWS)):
        want = min(BLOCK_ROWS, n_rows - start)
        block_rng = np.random.default_rng([base, b])
        if check is None:
            rows = model.sample(want, random_state=block_rng)
            bar.update(len(rows))
        else:
            rows = draw_kept(model, want, check, block_rng, bar)
        yield want, rows


def write_blocks(model, n_rows, blocks, writer, opt) -> tuple[pd.DataFrame | None, int]:
    """Write the blocks' rows ``chunk_rows`` at a time, identifiers numbered over the whole
    output; returns the first ``sample_rows`` rows and the number written (stopping after
    the first block the filter left short)."""
    sample: list[pd.DataFrame] = []
    buffer: list[pd.DataFrame] = []
    kept = held = sampled = 0
    for want, rows in blocks:
        rows = number_ids(model, rows, kept, n_rows)
        if sampled < opt["sample_rows"]:
            sample.append(rows.iloc[: opt["sample_rows"] - sampled])
            sampled += len(sample[-1])
        buffer.append(rows)
        kept, held = kept + len(rows), held + len(rows)
        last = len(rows) < want or kept == n_rows
        while held >= opt["chunk_rows"] or (held and last):
            chunk = pd.concat(buffer, ignore_index=True) if len(buffer) > 1 else buffer[0]
            writer.write(chunk.iloc[: opt["chunk_rows"]].reset_index(drop=True))
            rest = chunk.iloc[opt["chunk_rows"] :]
            buffer, held = ([rest] if len(rest) else []), len(rest)
        if len(rows) < want:
            break  # redrawing could not replace the copies: the verdict says so
    frame = pd.concat(sample, ignore_index=True) if sample else None
    return frame, kept
