"""Linked tables on the command line: a folder of tables in, a folder of tables out.

``synthgen fit tables/ -o model.sgm`` (a folder: one CSV/Parquet file per table, the table's
name is the file's name without extension) fits a multi-table model; ``synthgen sample
model.sgm -o out/`` writes one file per table; ``synthgen metadata tables/ -o meta.json``
writes the detected keys, links and sequence orders for editing (``fit --metadata``).
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path
from typing import Any

from synthgen.cli.options import add_reading_options, pairs, reading
from synthgen.exceptions import ConfigurationError, DataError, PersistenceError

__all__ = [
    "add_metadata_command",
    "fit_tables",
    "is_relational_model",
    "read_tables",
    "sample_tables",
]

_SUFFIXES = (".csv.gz", ".csv", ".tsv.gz", ".tsv", ".parquet", ".pq")
FORMATS = ("csv", "csv.gz", "parquet")


def _table_name(path: Path) -> str | None:
    name = path.name
    for suffix in _SUFFIXES:
        if name.lower().endswith(suffix) and len(name) > len(suffix):
            return name[: -len(suffix)]
    return None


def read_tables(folder: str | os.PathLike[str], options: dict[str, Any]) -> dict[str, Any]:
    """Every table file of ``folder`` by name (files of other kinds are skipped)."""
    from synthgen.tabular_io import read_table

    where = Path(folder)
    if not where.is_dir():
        raise DataError(f"{os.fspath(folder)!r} is not a folder of tables")
    found: dict[str, Path] = {}
    for path in sorted(where.iterdir()):
        name = _table_name(path)
        if name is None or not path.is_file():
            continue
        if name in found:
            raise DataError(
                f"{os.fspath(folder)!r}: two files for table {name!r} "
                f"({found[name].name}, {path.name})"
            )
        found[name] = path
    if not found:
        raise DataError(f"{os.fspath(folder)!r} holds no table file ({', '.join(_SUFFIXES)})")
    return {name: read_table(path, **options) for name, path in found.items()}


def is_relational_model(path: str | os.PathLike[str]) -> bool:
    """Whether the model file at ``path`` is a multi-table model (its manifest only is read;
    a file that is no model is left for the loader to report)."""
    from synthgen.bundle import read_bundle
    from synthgen.relational.persistence import RELATIONAL_KEY

    try:
        bundle = read_bundle(path, weights=False)
    except PersistenceError:
        return False
    return bundle.manifest.get("generator") == RELATIONAL_KEY


def fit_tables(args: argparse.Namespace, params: dict[str, Any]) -> None:
    """``synthgen fit FOLDER``: fit and save a multi-table model."""
    import synthgen as sg
    from synthgen.files import check_output_path

    check_output_path(args.output, what="model")
    if args.schema or args.kind:
        raise ConfigurationError(
            "--schema and --kind go with one table; a folder of tables takes --metadata"
        )
    metadata = sg.Metadata.from_json(Path(args.metadata)) if args.metadata else None
    tables = read_tables(args.data, reading(args))
    key = args.generator or "transformer"
    if not args.quiet:
        params.setdefault("verbose", True)
    random_state = params.pop("random_state", None)
    model = sg.RelationalSynthesizer(key, params, random_state=random_state)
    start = time.perf_counter()
    model.fit(tables, metadata)
    model.save(args.output)
    n_rows = sum(len(t) for t in tables.values())
    print(
        f"fitted {key} on {len(tables)} tables ({n_rows:,} rows) in "
        f"{time.perf_counter() - start:.1f} s -> {args.output}"
    )
    for name, table in model.metadata_.tables.items():
        parents = ", ".join(
            f"{fk.column} -> {fk.parent}" for fk in model.metadata_.parents_of(name)
        )
        extra = f"; sequence by {table.sequence_key}" if table.sequence_key else ""
        print(f"  {name}: {len(tables[name]):,} rows{'; ' + parents if parents else ''}{extra}")


def sample_tables(args: argparse.Namespace) -> None:
    """``synthgen sample MODEL -o FOLDER``: draw every table of a multi-table model."""
    import synthgen as sg
    from synthgen.tabular_io import write_table

    if args.n is not None:
        raise DataError("a multi-table model is sampled with --scale (root rows x scale), not -n")
    given = (("--chunk-size", args.chunk_size), ("--jobs", args.jobs))
    one_table = [option for option, value in given if value is not None]
    if one_table or args.ray:
        raise ConfigurationError(
            f"{(one_table or ['--ray'])[0]} samples one table; a multi-table model writes its "
            "tables with --scale (root rows x scale)"
        )
    folder = Path(args.output)
    if folder.exists() and not folder.is_dir():
        raise PersistenceError(f"cannot write tables into {args.output!r}: it is not a folder")
    if not folder.parent.is_dir():
        raise PersistenceError(
            f"cannot write tables into {args.output!r}: folder {str(folder.parent)!r} does not "
            "exist"
        )
    model = sg.load(args.model, device=args.device)
    suffix = "." + args.format
    targets = {name: folder / f"{name}{suffix}" for name in model.metadata_.tables}
    existing = [p.name for p in targets.values() if p.exists()]
    if existing and not args.overwrite:
        raise PersistenceError(
            f"{args.output!r} already holds {existing}: use --force to replace them"
        )
    out = model.sample(args.scale, random_state=args.random_state)
    folder.mkdir(exist_ok=True)
    for name, frame in out.items():
        write_table(frame, targets[name])
        print(f"wrote {len(frame):,} rows of {name} -> {targets[name]}")


def _cmd_metadata(args: argparse.Namespace) -> None:
    import synthgen as sg
    from synthgen.files import check_output_path

    if args.output is not None:
        check_output_path(args.output, what="metadata")
    tables = read_tables(args.data, reading(args))
    keys = pairs(args.primary_key, "--primary-key")
    seq = pairs(args.sequence_key, "--sequence-key")
    meta = sg.Metadata.detect(
        tables,
        primary_keys={k: (v or None) for k, v in keys.items()},
        sequence_keys={k: (v or None) for k, v in seq.items()},
    )
    text = meta.to_json(args.output)
    if args.output is None:
        print(text)
    else:
        print(f"wrote metadata of {len(meta.tables)} tables -> {args.output}")
    for fk in meta.foreign_keys:
        print(f"  {fk.child}.{fk.column} -> {fk.parent}.{fk.parent_column}")
    for name, table in meta.tables.items():
        if table.sequence_key:
            print(f"  {name}: a sequence per parent, ordered by {table.sequence_key}")


def add_metadata_command(sub: Any) -> None:
    """The ``metadata`` command."""
    p = sub.add_parser(
        "metadata", help="detect the keys and links of a folder of tables and write them as JSON"
    )
    p.add_argument("data", help="folder with one table file per table (.csv, .parquet, ...)")
    p.add_argument("-o", "--output", default=None, help="JSON file to write (default: print)")
    p.add_argument(
        "--primary-key", action="append", default=[], metavar="TABLE=COLUMN",
        help="the primary key of TABLE (empty: none); repeatable",
    )  # fmt: skip
    p.add_argument(
        "--sequence-key", action="append", default=[], metavar="TABLE=COLUMN",
        help="the order column of TABLE's sequences (empty: not a sequence); repeatable",
    )  # fmt: skip
    add_reading_options(p)
    p.set_defaults(func=_cmd_metadata)
