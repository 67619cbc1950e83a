"""What a report needs to be reproduced and judged: seeds, sizes, package versions, and the
differential-privacy ledger of the model when it has one.

Versions are read from the installed distributions' metadata, so torch and opacus are named
without being imported (importing torch takes seconds and is not needed to evaluate).
"""

from __future__ import annotations

from importlib import metadata
from typing import Any

from synthgen._version import __version__

__all__ = ["PACKAGES", "dp_ledger", "package_versions"]

#: Distributions whose versions the manifest lists (``None`` when not installed).
PACKAGES: tuple[str, ...] = ("numpy", "pandas", "scikit-learn", "scipy", "torch", "opacus")


def package_versions() -> dict[str, str | None]:
    """synthgen's version and those of :data:`PACKAGES`.

    Examples
    --------
    >>> v = package_versions()
    >>> sorted(v)[:3], v["numpy"] is not None
    (['numpy', 'opacus', 'pandas'], True)
    """
    out: dict[str, str | None] = {"synthgen": __version__}
    for name in PACKAGES:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = None
    return out


def dp_ledger(privacy: dict[str, Any] | None) -> dict[str, Any] | None:
    """The epsilon/delta ledger of a DP model's ``privacy_`` record, for the report.

    Keeps the spent ``epsilon`` and ``delta``, the target, each step's epsilon, the
    accountant's method and, for DP-SGD, the opacus version that noised its steps.

    Examples
    --------
    >>> led = dp_ledger({"epsilon": 2.9, "delta": 1e-5, "target_epsilon": 3.0,
    ...                  "accounting": "Renyi DP", "steps": {"marginals": 2.9}})
    >>> led["accountant"], led["steps"], led["opacus_version"]
    ('Renyi DP', {'marginals': 2.9}, None)
    >>> dp_ledger(None) is None
    True
    """
    if not privacy:
        return None
    out = dict(privacy)
    out["accountant"] = privacy.get("accounting")
    opacus = None
    sgd = privacy.get("dp_sgd")
    if isinstance(sgd, dict):
        # recorded at fit time since this change; older models: the version installed now
        opacus = sgd.get("opacus_version") or package_versions()["opacus"]
    out["opacus_version"] = opacus
    return out
