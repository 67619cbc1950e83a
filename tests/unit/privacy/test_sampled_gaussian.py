"""The subsampled Gaussian's Rényi curve, vectorised: opacus' values in milliseconds."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from opacus.accountants.analysis.rdp import compute_rdp  # a test dependency (extra "dev")

from synthgen.privacy.dp import sgd
from synthgen.privacy.dp.accounting import ORDERS
from synthgen.privacy.dp.sampled_gaussian import subsampled_gaussian_rdp


def _opacus(q: float, sigma: float) -> np.ndarray:
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore", RuntimeWarning)
        rdp = compute_rdp(q=q, noise_multiplier=sigma, steps=1, orders=ORDERS)
    return np.nan_to_num(np.asarray(rdp, dtype=float), nan=np.inf)


@pytest.mark.parametrize("q", [1e-4, 0.004, 0.05, 0.5, 0.97])
@pytest.mark.parametrize("sigma", [0.4, 1.0, 3.0, 30.0])
def test_the_curve_is_opacus_curve(q, sigma):
    ours, theirs = subsampled_gaussian_rdp(q, sigma, ORDERS), _opacus(q, sigma)
    np.testing.assert_array_equal(np.isinf(ours), np.isinf(theirs))
    finite = np.isfinite(theirs)
    # relative agreement; a little absolute slack where both lose digits to cancellation
    np.testing.assert_allclose(ours[finite], theirs[finite], rtol=5e-8, atol=1e-12)


def test_the_edges_and_the_direction_of_the_curve():
    orders = np.array([1.5, 2.0, 7.5, 32.0])
    np.testing.assert_allclose(subsampled_gaussian_rdp(1.0, 2.0, orders), orders / 8)
    assert (subsampled_gaussian_rdp(0.0, 2.0, orders) == 0).all()
    assert np.isinf(subsampled_gaussian_rdp(0.1, 0.0, orders)).all()
    # more noise or a smaller sample spends less, at every order
    base = subsampled_gaussian_rdp(0.05, 1.0, orders)
    assert (subsampled_gaussian_rdp(0.05, 1.5, orders) < base).all()
    assert (subsampled_gaussian_rdp(0.02, 1.0, orders) < base).all()
    assert (np.diff(base) > 0).all()  # and more at higher orders


def test_the_noise_search_finds_what_opacus_curve_finds(monkeypatch):
    from synthgen.privacy.dp.accounting import PrivacyLedger

    ledger = PrivacyLedger(delta=1e-5)
    ours = sgd.noise_multiplier_for(3.0, ledger, 0.02, 700)
    monkeypatch.setattr(sgd, "subsampled_gaussian_rdp", lambda q, s, _: _opacus(q, s))
    sgd._one_step_rdp.cache_clear()
    try:
        theirs = sgd.noise_multiplier_for(3.0, ledger, 0.02, 700)
    finally:
        sgd._one_step_rdp.cache_clear()
    assert ours == pytest.approx(theirs, rel=1e-9)
