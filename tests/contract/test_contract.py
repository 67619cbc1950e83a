"""Every registered generator, canaries included, meets the estimator contract."""

import pytest

import synthgen as sg
from synthgen.generators import get_generator_class
from synthgen.testing import CHECKS, make_mixed_table


@pytest.fixture(scope="module")
def table():
    return make_mixed_table(120)


@pytest.mark.parametrize("check", CHECKS, ids=lambda c: c.__name__)
@pytest.mark.parametrize("key", sg.list_generators(include_canaries=True))
def test_contract(key, check, table):
    cls = get_generator_class(key)
    check(sg.make_generator(key, **cls._fast_params()), table)


def test_a_broken_generator_fails_the_contract(table):
    """The suite catches a generator that ignores its random_state."""
    from synthgen.generators.baselines import IndependentMarginals
    from synthgen.testing import check_generator

    class Unseeded(IndependentMarginals):
        def _sample_encoded(self, n_samples, rng):
            import numpy as np

            return np.random.default_rng().standard_normal((n_samples, self.n_scores_))

    with pytest.raises(AssertionError, match="check_deterministic"):
        check_generator(Unseeded(), table)
