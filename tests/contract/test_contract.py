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


def test_a_generator_whose_fit_rewrites_a_parameter_fails_the_contract(table):
    from synthgen.testing.stability import check_params_unchanged

    class Forgetful(get_generator_class("marginals")):
        def _fit_encoded(self, matrix, rng):
            self.verbose = int(self.verbose)  # False -> 0: equal, but not the value given
            super()._fit_encoded(matrix, rng)

    with pytest.raises(AssertionError, match="fit changed parameters: verbose"):
        check_params_unchanged(Forgetful(), table)


def test_a_fit_on_a_clock_budget_fails_the_repeatability_check(table):
    """A fit that trains for a wall-clock time gets fewer steps on a busy machine."""
    import warnings

    from synthgen.testing.stability import check_repeatable_under_load

    params = {**get_generator_class("diffusion")._fast_params(), "epochs": 100_000}
    model = sg.make_generator("diffusion", **{**params, "max_time": 0.5})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # a budget that cuts training short may warn
        with pytest.raises(AssertionError, match="differs between two fits"):
            check_repeatable_under_load(model, table)
