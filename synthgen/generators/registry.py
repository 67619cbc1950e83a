"""Generator registry: a table of stable keys to ``"module:Class"``, resolved lazily.

No generator module imports the registry: a family is found by its entry here (or by a
third-party package's ``synthgen.generators`` entry point, or by :func:`register`), and its
module is imported only when the class is asked for, so listing the generators or building
a copula never imports torch.
"""

from __future__ import annotations

import difflib
import importlib
import inspect
from importlib import metadata
from typing import Any

from synthgen.exceptions import ConfigurationError

__all__ = [
    "check_param_names",
    "get_generator_class",
    "list_generators",
    "make_generator",
    "register",
]

#: Built-in families: key -> "module:Class".
BUILTIN: dict[str, str] = {
    "copula": "synthgen.generators.baselines:GaussianCopula",
    "diffusion": "synthgen.generators.diffusion:TabularDiffusion",
    "dp_marginals": "synthgen.generators.mst:DPMarginals",
    "gan": "synthgen.generators.gan:TabularGAN",
    "marginals": "synthgen.generators.baselines:IndependentMarginals",
    "transformer": "synthgen.generators.transformer:TabularTransformer",
    "vae": "synthgen.generators.vae:TabularVAE",
}
#: Deliberately unsafe generators, listed only on request (privacy-evaluator canaries).
CANARIES: dict[str, str] = {"copy": "synthgen.generators.baselines:CopyCanary"}
ENTRY_POINT_GROUP = "synthgen.generators"

_extra: dict[str, str | type] = {}


def register(key: str, target: str | type) -> None:
    """Register a third-party generator under ``key``.

    Parameters
    ----------
    key : str
        The name users pass to :func:`make_generator` (must be new).
    target : str or class
        ``"package.module:Class"`` (imported on first use) or the class itself.

    Examples
    --------
    >>> register("my_copula", "synthgen.generators.baselines:GaussianCopula")
    >>> make_generator("my_copula", random_state=0)
    GaussianCopula(random_state=0)
    >>> _ = _extra.pop("my_copula")
    """
    if key in _table():
        raise ConfigurationError(f"generator key {key!r} is already registered")
    _extra[key] = target


def _entry_points() -> dict[str, str]:
    try:
        found = metadata.entry_points(group=ENTRY_POINT_GROUP)
    except Exception:  # a broken installed distribution must not break synthgen
        return {}
    return {ep.name: ep.value for ep in found}


def _table(include_canaries: bool = True) -> dict[str, str | type]:
    table: dict[str, str | type] = {**_entry_points(), **BUILTIN, **_extra}
    if include_canaries:
        table.update(CANARIES)
    return table


def get_generator_class(key: str) -> type:
    """The class registered under ``key`` (its module is imported now)."""
    target = _table().get(key) if isinstance(key, str) else None
    if target is None:
        raise ConfigurationError(
            f"unknown generator {key!r}; available: {', '.join(list_generators())}"
        )
    if isinstance(target, type):
        return target
    module, _, name = target.partition(":")
    try:
        cls = getattr(importlib.import_module(module), name)
    except (ImportError, AttributeError) as err:
        raise ConfigurationError(f"generator {key!r} ({target}) cannot be loaded: {err}") from None
    return cls


def list_generators(*, include_canaries: bool = False) -> list[str]:
    """Registered generator keys, sorted (imports no generator module).

    Examples
    --------
    >>> list_generators()
    ['copula', 'diffusion', 'dp_marginals', 'gan', 'marginals', 'transformer', 'vae']
    """
    return sorted(_table(include_canaries))


def make_generator(key: str, **params: Any):
    """A new, unfitted generator of family ``key`` with ``params``.

    Examples
    --------
    >>> make_generator("copula", random_state=0)
    GaussianCopula(random_state=0)
    >>> make_generator("copula", shrinkag=0.1)
    Traceback (most recent call last):
    ...
    synthgen.exceptions.ConfigurationError: unknown parameter 'shrinkag' ... (did you mean ...
    """
    cls = get_generator_class(key)
    check_param_names(key, cls, params)
    return cls(**params)


def check_param_names(key: str, cls: type, params: dict[str, Any]) -> None:
    """Raise a ConfigurationError naming an unknown parameter of ``cls``, with the closest
    valid name and the list of valid ones (instead of Python's ``TypeError``)."""
    try:
        signature = inspect.signature(cls)
    except (TypeError, ValueError):  # a class without a readable signature: let it check
        return
    if any(p.kind is p.VAR_KEYWORD for p in signature.parameters.values()):
        return
    valid = [n for n, p in signature.parameters.items() if p.kind is not p.VAR_POSITIONAL]
    for name in params:
        if name not in valid:
            close = difflib.get_close_matches(str(name), valid, n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            raise ConfigurationError(
                f"unknown parameter {name!r} for generator {key!r}{hint}; "
                f"its parameters: {', '.join(sorted(valid))}"
            )
