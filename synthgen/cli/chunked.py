"""``synthgen sample ... --chunk-size N [--jobs K | --ray]``: rows straight to disk, chunk by
chunk, in this process, in ``K`` worker processes or on Ray workers (the same output each
way)."""

from __future__ import annotations

import argparse

from synthgen.exceptions import ConfigurationError

__all__ = ["add_chunk_options", "sample_chunked"]


def add_chunk_options(p: argparse.ArgumentParser) -> None:
    """The ``--chunk-size``, ``--jobs`` and ``--ray`` options of ``sample``."""
    p.add_argument(
        "--chunk-size",
        type=int,
        default=None,
        help="write chunk by chunk (rows per chunk): a Parquet folder, or a CSV file for "
        ".csv/.csv.gz/.tsv/.tsv.gz",
    )
    p.add_argument(
        "--jobs",
        type=int,
        default=None,
        metavar="K",
        help="draw and write the chunks in K worker processes (-1: one per CPU), each with "
        "the model's threads; the same output as one process (implies chunked writing)",
    )
    p.add_argument(
        "--ray",
        action="store_true",
        help="draw the Parquet parts on Ray workers (pip install 'synthgen[ray]'; a local Ray, "
        "or the cluster of RAY_ADDRESS): the same folder as without --ray",
    )


def sample_chunked(args: argparse.Namespace) -> None:
    """Draw ``-n`` rows of the model into ``-o`` chunk by chunk (``synthgen.sampling.chunked``),
    in ``--jobs`` worker processes, or on Ray with ``--ray`` (``synthgen.ray_sampling``)."""
    import synthgen as sg
    from synthgen.sampling.chunked import DEFAULT_CHUNK_SIZE

    if args.ray and args.jobs is not None:
        raise ConfigurationError("--jobs runs local worker processes: leave it out with --ray")
    model = sg.load(args.model, device=args.device)
    options = {
        "chunk_size": DEFAULT_CHUNK_SIZE if args.chunk_size is None else args.chunk_size,
        "random_state": args.random_state,
        "overwrite": args.overwrite,
    }
    if args.ray:
        from synthgen.ray_sampling import sample_to_ray

        out = sample_to_ray(model, args.output, args.n, **options)
    else:
        out = model.sample_to(args.output, args.n, n_jobs=args.jobs, **options)
    print(f"wrote {args.n:,} synthetic rows -> {out}")
