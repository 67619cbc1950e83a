"""What a generator can do, in one object (instead of flags spread over classes and sniffing)."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["GeneratorTags"]


@dataclass(frozen=True)
class GeneratorTags:
    """Capabilities of a generator family (the class attribute ``tags``).

    Attributes
    ----------
    conditioning : bool
        Draws rows given fixed cells natively (``draw_given``), instead of by rejection.
    differential_privacy : bool
        Takes ``epsilon`` and fits with differential privacy when it is set.
    always_private : bool
        Every fit is differentially private (``epsilon`` has a default, never ``None``).
    canary : bool
        Deliberately unsafe (copies training rows): kept to test the privacy evaluators and
        left out of :func:`~synthgen.generators.registry.list_generators`.
    neural : bool
        Trains a torch network (needs torch; takes the shared training parameters).

    Examples
    --------
    >>> GeneratorTags(conditioning=True).differential_privacy
    False
    """

    conditioning: bool = False
    differential_privacy: bool = False
    always_private: bool = False
    canary: bool = False
    neural: bool = False
