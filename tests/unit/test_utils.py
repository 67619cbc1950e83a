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


def test_row_joiner_equals_pandas_concat_for_every_kind_of_column():
    import pandas as pd

    from synthgen.utils import RowJoiner

    def join(frames):
        joiner = RowJoiner(sum(len(f) for f in frames))
        for f in frames:
            joiner.add(f)
        return joiner.result()

    def frame(n, seed, nullable):
        rng = np.random.default_rng(seed)
        ints = pd.array(rng.integers(0, 9, n), dtype="Int64") if nullable else rng.integers(0, 9, n)
        return pd.DataFrame(
            {
                "num": rng.random(n),
                "int": ints,  # int64 in one chunk, nullable Int64 in another
                "obj": np.where(rng.random(n) < 0.3, None, "x"),
                "cat": pd.Categorical(rng.choice(["a", "b"], n), categories=["a", "b", "c"]),
                "when": pd.date_range("2020-01-01", periods=n, freq="D", tz="UTC"),
                "flag": rng.random(n) < 0.5,
                "text": pd.array(rng.choice(["p", None], n), dtype="string"),
            }
        )

    frames = [frame(5, 0, False), frame(3, 1, True), frame(4, 2, False)]
    got = join(frames)
    expected = pd.concat(frames, ignore_index=True)
    pd.testing.assert_frame_equal(got, expected)
    assert join(frames[:1]) is frames[0]


def test_row_joiner_holds_no_frame_once_it_is_copied_in():
    import gc
    import weakref

    import pandas as pd

    from synthgen.utils import RowJoiner

    joiner = RowJoiner(6)
    refs = []
    for start in range(0, 6, 2):
        frame = pd.DataFrame({"x": np.arange(start, start + 2), "s": ["a", None]})
        refs.append(weakref.ref(frame))
        joiner.add(frame)
        del frame
    gc.collect()
    assert [ref() is None for ref in refs] == [True, True, True]
    out = joiner.result()
    assert out["x"].tolist() == list(range(6)) and out["s"].tolist() == ["a", None] * 3
    assert isinstance(out.index, pd.RangeIndex)


def test_row_joiner_follows_a_dtype_that_changes_and_more_or_fewer_rows_than_announced():
    import pandas as pd

    from synthgen.utils import RowJoiner

    frames = [
        pd.DataFrame({"x": [1, 2], "y": [0.5, 1.5]}),
        pd.DataFrame({"x": [3.5], "y": [2.5]}),  # x: int64, then float64
        pd.DataFrame({"x": [4], "y": [3.5]}),
    ]
    joiner = RowJoiner(10)
    for frame in frames:
        joiner.add(frame)
    pd.testing.assert_frame_equal(joiner.result(), pd.concat(frames, ignore_index=True))
    more = RowJoiner(1)  # more rows than announced
    for frame in frames[::-1]:
        more.add(frame)
    pd.testing.assert_frame_equal(more.result(), pd.concat(frames[::-1], ignore_index=True))
    one = RowJoiner(2)
    one.add(frames[0])
    assert one.result() is frames[0]
    with pytest.raises(ValueError, match="same columns"):
        one.add(pd.DataFrame({"z": [1]}))
    with pytest.raises(ValueError, match="no frame"):
        RowJoiner(1).result()
