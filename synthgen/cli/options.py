"""Options shared by the ``synthgen`` commands: how tables are read, column kinds, parameters."""

from __future__ import annotations

import argparse
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from synthgen.exceptions import ConfigurationError

__all__ = ["add_kind_option", "add_reading_options", "pairs", "reading", "schema_for"]

_SEPARATORS = {"\\t": "\t", "tab": "\t", "comma": ",", "semicolon": ";", "pipe": "|"}


def _parse_value(text: str) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return text


def pairs(items: Sequence[str], flag: str, *, parse: bool = False) -> dict[str, Any]:
    """``["a=1", "b=x"]`` as ``{"a": 1, "b": "x"}`` (values parsed as JSON when ``parse``).

    Examples
    --------
    >>> pairs(["shrinkage=0.1", "verbose=false"], "--param", parse=True)
    {'shrinkage': 0.1, 'verbose': False}
    >>> pairs(["zip"], "--dtype")
    Traceback (most recent call last):
    ...
    synthgen.exceptions.ConfigurationError: --dtype expects COLUMN=VALUE, got 'zip'
    """
    out: dict[str, Any] = {}
    what = "KEY" if flag == "--param" else "COLUMN"
    for item in items:
        key, eq, value = item.partition("=")
        if not eq or not key.strip():
            raise ConfigurationError(f"{flag} expects {what}=VALUE, got {item!r}")
        out[key.strip()] = _parse_value(value) if parse else value.strip()
    return out


def add_reading_options(p: argparse.ArgumentParser) -> None:
    """``--sep``, ``--dtype`` and ``--na-values``: how input tables are read."""
    g = p.add_argument_group("reading CSV files")
    g.add_argument(
        "--sep",
        default=None,
        help="field separator (',', ';', tab as '\\t', '|'); default: sniffed from the first "
        "lines, with a warning when it is not the file's usual one",
    )
    g.add_argument(
        "--dtype",
        action="append",
        default=[],
        metavar="COLUMN=DTYPE",
        help="read COLUMN as DTYPE (e.g. zip=str); repeatable",
    )
    g.add_argument(
        "--na-values",
        action="append",
        default=None,
        metavar="MARKERS",
        help="comma-separated cell values read as missing, replacing the default list "
        "(pandas' markers such as NA, NaN, null, plus '?'); an empty cell is always missing; "
        "--na-values= keeps '?' and every other text as a value",
    )


def reading(args: argparse.Namespace) -> dict[str, Any]:
    """The keyword arguments of :func:`synthgen.tabular_io.read_table` the options give."""
    sep = args.sep
    if sep is not None:
        sep = _SEPARATORS.get(sep.lower(), sep)
        if len(sep) != 1:
            raise ConfigurationError(f"--sep expects one character, got {args.sep!r}")
    na_values = None
    if args.na_values is not None:
        na_values = [m for item in args.na_values for m in item.split(",") if m != ""]
    return {"sep": sep, "dtype": pairs(args.dtype, "--dtype") or None, "na_values": na_values}


def add_kind_option(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--kind",
        action="append",
        default=[],
        metavar="COLUMN=KIND",
        help="treat COLUMN as KIND (numeric, categorical, datetime, id, constant, text); "
        "repeatable",
    )


def schema_for(args: argparse.Namespace, data: Any) -> Any:
    """The schema the options give (``--schema`` JSON, then ``--kind`` overrides), or
    ``None`` to let the generator infer one."""
    import synthgen as sg

    kinds = pairs(getattr(args, "kind", []), "--kind")
    schema = sg.Schema.from_json(Path(args.schema)) if args.schema else None
    if schema is None:
        return sg.Schema.infer(data, kinds=kinds) if kinds else None
    schema = schema.complete(data)
    for name, kind in kinds.items():
        schema = schema.set_kind(name, kind, data)
    return schema
