"""``synthgen info MODEL``: what a saved model is, read without loading it.

Only the manifest and the schema are read, through the hostile-file reader of
:mod:`synthgen.bundle` (the weights are never read and no network library is imported), so
describing a model is quick and safe on any file.
"""

from __future__ import annotations

import argparse
import json
import os
from typing import Any

from synthgen.exceptions import PersistenceError, SynthgenError

__all__ = ["add_info_command", "describe_model"]

SCHEMA_MEMBER = "schema.json"
_MAX_VALUE = 160


def _text(value: Any) -> str:
    """A value from the file as one short, printable line."""
    text = value if isinstance(value, str) else json.dumps(value, sort_keys=True, default=str)
    if not text.isprintable():
        text = repr(text)
    return text if len(text) <= _MAX_VALUE else text[: _MAX_VALUE - 3] + "..."


def _size(n_bytes: int) -> str:
    for unit in ("bytes", "kB", "MB"):
        if n_bytes < 1000 or unit == "MB":
            return f"{n_bytes:,} {unit}" if unit == "bytes" else f"{n_bytes:,.1f} {unit}"
        n_bytes /= 1000
    return ""  # pragma: no cover


def describe_model(path: str | os.PathLike[str]) -> str:
    """A description of the model file at ``path``: generator, parameters, training,
    privacy record and schema (weights are not read).

    Raises
    ------
    PersistenceError
        The file is not a readable synthgen model (the message names the member).
    """
    # Imported here, not with the CLI: ``synthgen --help`` does not pay for numpy and pandas.
    from synthgen.bundle import read_bundle
    from synthgen.schema import Schema

    where = os.fspath(path)
    bundle = read_bundle(where, weights=False)
    manifest = bundle.manifest
    if manifest["generator"] == "relational":
        return _describe_tables(where, bundle)
    if SCHEMA_MEMBER not in bundle.members:
        raise PersistenceError(f"{where!r} is not a synthgen model: missing [{SCHEMA_MEMBER!r}]")
    try:
        schema = Schema.from_dict(bundle.members[SCHEMA_MEMBER])
    except SynthgenError as err:
        raise PersistenceError(f"{where!r}, member {SCHEMA_MEMBER!r}: {err}") from None
    lines = [
        f"model file: {_text(where)} ({_size(os.path.getsize(where))}), written by synthgen "
        f"{_text(manifest['synthgen_version'])} (format {manifest['format_version']})",
        f"generator: {_text(manifest['generator'])}",
    ]
    params = manifest["params"]
    shown = ", ".join(f"{_text(k)}={_text(v)}" for k, v in sorted(params.items()))
    lines.append(f"parameters: {shown or '(none)'}")
    fitted, state = manifest["fitted"], manifest["state"]
    training = f"training: {_text(fitted.get('n_train_rows', '?'))} rows"
    if "n_epochs" in state:
        training += f", {_text(state['n_epochs'])} epochs"
        if state.get("stop_reason"):
            training += f" (stopped by {_text(state['stop_reason'])})"
    lines.append(training)
    privacy = manifest.get("privacy")
    if privacy:
        lines += _privacy_lines(privacy)
    else:
        lines.append("privacy: no differential-privacy guarantee recorded")
    lines.append(f"schema: {len(schema)} columns")
    width = max(len(_text(c.name)) for c in schema) if len(schema) else 4
    for spec in schema:
        missing = f"{spec.missing_rate:.1%} missing" if spec.missing_rate else ""
        lines.append(
            f"  {_text(spec.name):<{width}}  {spec.kind:<11}  {spec.dtype:<15}  {missing}".rstrip()
        )
    if schema.constraints:
        lines.append(f"constraints: {len(schema.constraints)}")
        lines += [f"  {_text(repr(c))}" for c in schema.constraints]
    return "\n".join(lines)


def _describe_tables(where: str, bundle: Any) -> str:
    """A multi-table model: its tables, links and each table's generator."""
    from synthgen.schema.metadata import Metadata

    try:
        state = bundle.members["relational.json"]
        meta = Metadata.from_dict(state["metadata"])
        entries = {e["plan"]["name"]: e for e in state["tables"]}
    except (SynthgenError, KeyError, TypeError) as err:
        raise PersistenceError(f"{where!r}, member 'relational.json': damaged ({err})") from None
    manifest = bundle.manifest
    lines = [
        f"model file: {_text(where)} ({_size(os.path.getsize(where))}), written by synthgen "
        f"{_text(manifest['synthgen_version'])} (format {manifest['format_version']})",
        f"linked tables: {len(meta.tables)}, foreign keys: {len(meta.foreign_keys)}",
    ]
    params = manifest["params"]
    lines.append(
        "parameters: " + ", ".join(f"{_text(k)}={_text(v)}" for k, v in sorted(params.items()))
    )
    for name, table in meta.tables.items():
        entry = entries.get(name, {})
        model = entry.get("model") if isinstance(entry, dict) else None
        key = _text(model.get("generator", "?")) if isinstance(model, dict) else "none"
        rows = entry.get("plan", {}).get("n_rows", "?") if isinstance(entry, dict) else "?"
        links = ", ".join(f"{fk.column} -> {fk.parent}" for fk in meta.parents_of(name))
        text = f"  {_text(name)}: {_text(rows)} training rows, generator {key}"
        if table.primary_key:
            text += f", key {_text(table.primary_key)}"
        if links:
            text += f", {_text(links)}"
        if table.sequence_key:
            text += f", sequence by {_text(table.sequence_key)}"
        lines.append(text)
    return "\n".join(lines)


def _number(value: Any) -> str:
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return f"{value:.3g}"
    return _text(value)


def _privacy_lines(privacy: dict[str, Any]) -> list[str]:
    """The privacy record: the guarantee first, then how it was accounted."""
    head = "privacy: differentially private fit"
    if "epsilon" in privacy:
        head += f": epsilon = {_number(privacy['epsilon'])}"
        if "target_epsilon" in privacy:
            head += f" spent of {_number(privacy['target_epsilon'])}"
    if "delta" in privacy:
        head += f", delta = {_number(privacy['delta'])}"
    lines = [head]
    for key, value in sorted(privacy.items()):
        if key in ("epsilon", "target_epsilon", "delta"):
            continue
        if isinstance(value, dict):
            value = ", ".join(f"{_text(k)} {_number(v)}" for k, v in value.items())
        lines.append(
            f"  {_text(key)}: {_text(value) if isinstance(value, str) else _number(value)}"
        )
    return lines


def _cmd_info(args: argparse.Namespace) -> None:
    print(describe_model(args.model))


def add_info_command(sub: Any) -> None:
    p = sub.add_parser(
        "info", help="describe a saved model (generator, parameters, schema) without loading it"
    )
    p.add_argument("model", help="model file written by 'fit'")
    p.set_defaults(func=_cmd_info)
