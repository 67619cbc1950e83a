"""Differential privacy: accounting, private preprocessing, DP-SGD (see docs/privacy-export.md)."""

from synthgen.privacy.dp.accounting import (
    PrivacyLedger,
    check_budget,
    epsilon_from_rdp,
    rho_for_epsilon,
)
from synthgen.privacy.dp.preprocess import DPPreprocessor

__all__ = [
    "DPPreprocessor",
    "PrivacyLedger",
    "check_budget",
    "epsilon_from_rdp",
    "rho_for_epsilon",
]
