"""Saving and loading a relational model: one bundle (zip of JSON and safetensors).

The manifest says ``"generator": "relational"``; ``relational.json`` holds the metadata and,
per table, its :class:`TablePlan` and its generator's parts exactly as a single-table model
file holds them (parameters, fitted facts, state, schema, encoder); the generators' arrays
are stored in ``weights.safetensors`` under ``<table index>/<name>``. Loading treats the file
as hostile: every part is checked, each generator is restored through the same checks as a
single-table model, and the plans must fit the metadata and the generators' columns.
"""

from __future__ import annotations

import json
import os
from typing import Any

import numpy as np

from synthgen._version import __version__
from synthgen.bundle import Bundle, write_bundle
from synthgen.exceptions import ConfigurationError, PersistenceError, SynthgenError
from synthgen.generators.base import ENCODER_MEMBER, SCHEMA_MEMBER
from synthgen.generators.registry import get_generator_class
from synthgen.relational.plan import AT, GAP, TablePlan, count_name
from synthgen.schema.metadata import Metadata

__all__ = ["MEMBER", "RELATIONAL_KEY", "read_relational", "relational_parts"]

#: The manifest's ``generator`` of a relational model, and its JSON member.
RELATIONAL_KEY = "relational"
MEMBER = "relational.json"


def relational_parts(
    model: Any,
) -> tuple[dict[str, Any], dict[str, str], dict[str, np.ndarray]]:
    """Manifest, members and arrays of a fitted relational model."""
    params = model.get_params()
    if isinstance(params["random_state"], np.random.Generator):
        params["random_state"] = None  # the saved sample seed keeps sampling reproducible
    try:
        json.dumps(params, allow_nan=False)
    except (TypeError, ValueError):
        raise PersistenceError(
            "the RelationalSynthesizer's parameters cannot be saved: they must be JSON values"
        ) from None
    tables, arrays = [], {}
    for i, plan in enumerate(model.plans_.values()):
        entry: dict[str, Any] = {"plan": plan.to_dict(), "model": None, "next_model": None}
        for j, field in enumerate(("model", "next_model")):
            generator = getattr(plan, field)
            if generator is None:
                continue
            manifest, members, own_arrays = generator.bundle_parts()
            entry[field] = {
                **{k: manifest[k] for k in ("generator", "params", "fitted", "state")},
                **({"privacy": manifest["privacy"]} if "privacy" in manifest else {}),
                "schema": json.loads(members[SCHEMA_MEMBER]),
                "encoder": json.loads(members[ENCODER_MEMBER]),
            }
            arrays.update({f"{i}.{j}/{k}": v for k, v in own_arrays.items()})
        tables.append(entry)
    state = {"metadata": model.metadata_.to_dict(), "tables": tables}
    manifest = {
        "synthgen_version": __version__,
        "generator": RELATIONAL_KEY,
        "params": params,
        "fitted": {"sample_seed": model.sample_seed_},
        "state": {},
    }
    return manifest, {MEMBER: json.dumps(state)}, arrays


def save_relational(model: Any, path: str | os.PathLike[str]) -> None:
    """Write a fitted relational model to ``path`` atomically."""
    write_bundle(path, *relational_parts(model))


def _fail(problem: str) -> PersistenceError:
    return PersistenceError(f"member {MEMBER!r}: {problem}")


def _restore_model(
    entry: Any, index: int, slot: int, arrays: dict[str, np.ndarray], device: Any
) -> Any:
    fields = {"generator": str, "params": dict, "fitted": dict, "state": dict,
              "schema": dict, "encoder": dict}  # fmt: skip
    if not isinstance(entry, dict) or not set(fields) <= set(entry) <= {*fields, "privacy"}:
        raise _fail(f"table {index}: a saved generator must hold {sorted(fields)}")
    for key, kind in fields.items():
        if not isinstance(entry[key], kind):
            raise _fail(f"table {index}: generator field {key!r} has the wrong type")
    if "privacy" in entry and not isinstance(entry["privacy"], dict):
        raise _fail(f"table {index}: generator field 'privacy' has the wrong type")
    try:
        cls = get_generator_class(entry["generator"])
    except ConfigurationError:
        raise _fail(f"table {index}: unknown generator {entry['generator']!r:.60}") from None
    prefix = f"{index}.{slot}/"
    own = {k[len(prefix) :]: v for k, v in arrays.items() if k.startswith(prefix)}
    manifest = {k: entry[k] for k in ("params", "fitted", "state", "privacy") if k in entry}
    members = {SCHEMA_MEMBER: entry["schema"], ENCODER_MEMBER: entry["encoder"]}
    try:
        return cls.from_bundle(Bundle(manifest, members, own), device=device)
    except PersistenceError as err:
        raise _fail(f"table {index}: {err}") from None


def _check_plan(plan: TablePlan, meta: Metadata) -> None:
    """The plan must fit the metadata and its generator's columns (or sampling would fail)."""
    t = meta.tables.get(plan.name)
    if t is None:
        raise _fail(f"table {plan.name!r:.60} is not in the metadata")
    links = meta.parents_of(plan.name)
    keys = {t.primary_key} | {fk.column for fk in links}
    if t.sequence_key is not None:
        keys.add(t.sequence_key)
    expected = [c for c in plan.columns if c not in keys]
    if (
        plan.own != expected
        or len(set(plan.columns)) != len(plan.columns)
        or not (keys - {None} <= set(plan.columns))
    ):
        raise _fail(f"table {plan.name!r}: its columns do not fit the metadata")
    if plan.counts != [count_name(fk) for fk in meta.children_of(plan.name)]:
        raise _fail(f"table {plan.name!r}: its count columns do not fit the metadata")
    if set(plan.secondary_missing) != {fk.column for fk in links[1:]}:
        raise _fail(f"table {plan.name!r}: its further foreign keys do not fit the metadata")
    if (plan.order is None) != (t.sequence_key is None) or (
        plan.order is not None and plan.order.column != t.sequence_key
    ):
        raise _fail(f"table {plan.name!r}: its sequence order does not fit the metadata")
    if (t.primary_key is None) != (plan.key_dtype is None):
        raise _fail(f"table {plan.name!r}: its key does not fit the metadata")
    if not links and plan.context:
        raise _fail(f"table {plan.name!r}: a table without a parent has no context")
    needed = plan.own + plan.counts + ([GAP] if plan.order is not None else [])
    if plan.model is None:
        if needed or plan.next_model is not None:
            raise _fail(f"table {plan.name!r}: a generator is missing")
        return
    for generator in (plan.model, plan.next_model):
        missing = [] if generator is None else [c for c in needed if c not in generator.schema_]
        if missing:
            raise _fail(f"table {plan.name!r}: its generator lacks the column(s) {missing[:5]}")
    if plan.next_model is not None and plan.order is None:
        raise _fail(f"table {plan.name!r}: only a sequence table has a next-event generator")
    if plan.order is not None:
        names = {f.name for f in plan.context}
        if plan.order.anchor is not None and plan.order.anchor not in names:
            raise _fail(f"table {plan.name!r}: its order anchor is not a context column")
        sources = {*plan.own, GAP, AT}
        if any(f.column not in sources for f in plan.lags):
            raise _fail(f"table {plan.name!r}: a previous-event column is not one of its own")


def _check_context(plans: dict[str, TablePlan], meta: Metadata) -> None:
    for name, plan in plans.items():
        links = meta.parents_of(name)
        if not links:
            continue
        parent = plans[links[0].parent]
        available = {*parent.own, *parent.counts}
        if parent.order is not None:
            available.add(parent.order.column)
        if any(f.column not in available for f in plan.context):
            raise _fail(f"table {name!r}: a context column is not one of its parent's")


def read_relational(bundle: Bundle, device: Any = None) -> tuple[dict, Metadata, dict, int]:
    """Parameters, metadata, plans (with their generators) and sample seed of a saved model."""
    state = bundle.members.get(MEMBER)
    if not isinstance(state, dict) or set(state) != {"metadata", "tables"}:
        raise _fail("expected an object with 'metadata' and 'tables'")
    try:
        meta = Metadata.from_dict(state["metadata"])
    except SynthgenError as err:
        raise _fail(f"metadata: {err}") from None
    entries = state["tables"]
    if not isinstance(entries, list) or len(entries) != len(meta.tables):
        raise _fail("there must be one saved table per table of the metadata")
    plans: dict[str, TablePlan] = {}
    for i, entry in enumerate(entries):
        if not isinstance(entry, dict) or set(entry) != {"plan", "model", "next_model"}:
            raise _fail(f"table {i}: expected an object with 'plan', 'model', 'next_model'")
        try:
            plan = TablePlan.from_dict(entry["plan"])
        except PersistenceError as err:
            raise _fail(f"table {i}: {err}") from None
        for j, field in enumerate(("model", "next_model")):
            if entry[field] is not None:
                setattr(plan, field, _restore_model(entry[field], i, j, bundle.arrays, device))
        if plan.name in plans:
            raise _fail(f"table {plan.name!r:.60} is saved twice")
        plans[plan.name] = plan
    for plan in plans.values():
        _check_plan(plan, meta)
    _check_context(plans, meta)
    plans = {name: plans[name] for name in meta.tables}
    seed = bundle.manifest["fitted"].get("sample_seed")
    if isinstance(seed, bool) or not isinstance(seed, int) or not 0 <= seed < 2**63:
        raise PersistenceError(f"member 'manifest.json': fitted.sample_seed is invalid: {seed!r}")
    return bundle.manifest["params"], meta, plans, seed
