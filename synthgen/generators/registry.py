"""Generator registry: stable keys (``"marginals"``, ``"copula"``, ...) to classes."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from synthgen.exceptions import ConfigurationError

__all__ = ["get_generator_class", "list_generators", "make_generator", "register"]

_REGISTRY: dict[str, type] = {}
T = TypeVar("T", bound=type)


def register(key: str) -> Callable[[T], T]:
    """Class decorator that registers a generator under ``key``."""

    def wrap(cls: T) -> T:
        if key in _REGISTRY and _REGISTRY[key] is not cls:
            raise ConfigurationError(f"generator key {key!r} is already registered")
        cls.key = key  # type: ignore[attr-defined]
        _REGISTRY[key] = cls
        return cls

    return wrap


def _load_builtin() -> None:
    # Importing the modules registers their classes.
    import synthgen.generators.baselines
    import synthgen.generators.diffusion
    import synthgen.generators.gan
    import synthgen.generators.mst
    import synthgen.generators.transformer
    import synthgen.generators.vae  # noqa: F401


def get_generator_class(key: str) -> type:
    """The class registered under ``key``."""
    _load_builtin()
    try:
        return _REGISTRY[key]
    except KeyError:
        raise ConfigurationError(
            f"unknown generator {key!r}; available: {', '.join(list_generators())}"
        ) from None


def list_generators(*, include_canaries: bool = False) -> list[str]:
    """Registered generator keys, sorted.

    Examples
    --------
    >>> list_generators()
    ['copula', 'diffusion', 'dp_marginals', 'gan', 'marginals', 'transformer', 'vae']
    """
    _load_builtin()
    return sorted(
        k for k, cls in _REGISTRY.items() if include_canaries or not getattr(cls, "canary", False)
    )


def make_generator(key: str, **params: Any):
    """A new, unfitted generator of family ``key`` with ``params``.

    Examples
    --------
    >>> make_generator("copula", random_state=0)
    GaussianCopula(random_state=0)
    """
    return get_generator_class(key)(**params)
