"""The differentially private marginal generator (registry key ``"dp_marginals"``)."""

from synthgen.generators.mst.generator import DPMarginals

__all__ = ["DPMarginals"]
