import numpy as np
import pytest

from synthgen.exceptions import ConfigurationError
from synthgen.utils import check_n_samples, check_random_state, resolve_device


def test_random_state_accepts_seed_none_and_generator():
    gen = np.random.default_rng(1)
    assert check_random_state(gen) is gen
    assert isinstance(check_random_state(None), np.random.Generator)
    with pytest.raises(ConfigurationError):
        check_random_state(-1)
    with pytest.raises(ConfigurationError):
        check_random_state(True)


@pytest.mark.parametrize("bad", [0, -1, 1.5, "3", None, True])
def test_bad_sample_counts(bad):
    with pytest.raises(ConfigurationError, match="n_samples"):
        check_n_samples(bad)


def test_device_resolution():
    assert resolve_device("auto").type in {"cpu", "cuda", "mps"}
    with pytest.raises(ConfigurationError, match="not a valid torch device"):
        resolve_device("quantum")
