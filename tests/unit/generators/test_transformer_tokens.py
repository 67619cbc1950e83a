"""The transformer's token tables: column-major encoding, the split into main and fine
tokens, and the sampled tokens (int32, column-major, free sampling without input tables)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from synthgen.generators.transformer import TabularTransformer

pytestmark = pytest.mark.usefixtures("one_thread_per_module")


@pytest.fixture(scope="module")
def mixed() -> tuple[TabularTransformer, pd.DataFrame]:
    """A fitted model of numbers (one with missing cells) and categories, 40 columns
    (several per attention position) so the wide network samples them."""
    rng = np.random.default_rng(0)
    n = 120
    cols = {}
    for j in range(40):
        if j % 3 == 0:
            cols[f"c{j}"] = rng.choice(["a", "b", "c"], n)
        else:
            x = rng.normal(j, 1.0, n).round(2)
            if j == 4:
                x[rng.random(n) < 0.3] = np.nan
            cols[f"x{j}"] = x
    frame = pd.DataFrame(cols)
    model = TabularTransformer(
        epochs=1, d_model=16, n_layers=1, n_heads=2, random_state=0, max_time=None
    )
    return model.fit(frame), frame


def test_split_tokens_give_each_column_its_slots(mixed):
    """Main tokens are each column's slot; fine tokens the slot after a number's, zero for
    a category (the split no longer scatters into a row-major table)."""
    model, frame = mixed
    matrix = model.encoder_.transform(frame, random_state=0)
    tokens = model.tokenizer_.encode(matrix)
    assert tokens.flags.f_contiguous  # a slot of every row written whole
    main, fine = model._split_tokens(matrix)
    assert main.shape == fine.shape == (len(frame), model.tokenizer_.n_columns)
    for j, col in enumerate(model.tokenizer_.columns):
        np.testing.assert_array_equal(main[:, j], tokens[:, col.slot])
        expected = tokens[:, col.slot + 1] if col.numeric else np.zeros(len(frame))
        np.testing.assert_array_equal(fine[:, j], expected)
    x4 = [c.column for c in model.tokenizer_.columns].index("x4")
    assert (main[:, x4] == model.n_bins).any()  # its missing cells' own token
    assert main.flags.f_contiguous and fine.flags.f_contiguous  # slots copied whole


def test_training_tokens_in_chunks_of_rows_are_the_tokens_in_one(mixed):
    """A wide table is tokenised a few thousand rows at a time (a chunk's int64 slots
    stay about 128 MB): chunks of any size give ``[main | fine]`` of the whole table."""
    model, frame = mixed
    matrix = np.tile(model.encoder_.transform(frame, random_state=0), (20, 1))  # 2,400 rows
    main, fine = model._split_tokens(matrix)
    whole = np.concatenate([main, fine], axis=1)
    n_slots = model.tokenizer_.n_slots
    for cells in (2**24, 1500 * n_slots, 7 * n_slots):  # one chunk; 1,500 rows; 1,024 (floor)
        tokens = model._training_tokens(matrix, chunk_cells=cells)
        assert tokens.dtype == np.int16 and tokens.flags.c_contiguous
        np.testing.assert_array_equal(tokens, whole)


def test_free_sampling_draws_what_sampling_with_nothing_known_draws(mixed):
    """Free sampling passes no input tables (zeros are made per chunk, column-major):
    the same tokens as all-zero tables with nothing known; int32, column-major."""
    model, _ = mixed
    n, c = 70, model.tokenizer_.n_columns
    known = np.zeros((n, c), dtype=bool)
    zeros = np.zeros((n, c), dtype=np.int64)
    free = model._sample_tokens(None, None, known, np.random.default_rng(3))
    given = model._sample_tokens(zeros, zeros.copy(), known, np.random.default_rng(3))
    np.testing.assert_array_equal(free, given)
    assert free.shape == (n, model.tokenizer_.n_slots)
    assert free.dtype == np.int32 and free.T.flags.c_contiguous
    vocab = np.asarray(model.tokenizer_.vocab)
    assert (free >= 0).all() and (free < vocab + 2).all()


@pytest.mark.parametrize("chunk", [None, 8], ids=["one chunk", "chunks of 8"])
def test_known_cells_come_back_in_their_slots(mixed, monkeypatch, chunk):
    """Cells fixed per row keep their tokens in the column-major tables, whichever
    columns each row fixes; in chunks of 8 rows too (8, 8, 8 and 6: each chunk writes its
    own cells into the tables the chunk before used, and the last gets its own)."""
    model, frame = mixed
    if chunk is not None:
        monkeypatch.setattr(model, "_chunk_rows", lambda: chunk)
    matrix = model.encoder_.transform(frame.head(30), random_state=0)
    main, fine = model._split_tokens(matrix)
    rng = np.random.default_rng(1)
    known = rng.random(main.shape) < 0.5
    tokens = model._sample_tokens(main, fine, known, np.random.default_rng(2))
    for j, col in enumerate(model.tokenizer_.columns):
        rows = known[:, j]
        np.testing.assert_array_equal(tokens[rows, col.slot], main[rows, j])
        if col.numeric:
            np.testing.assert_array_equal(tokens[rows, col.slot + 1], fine[rows, j])


def test_decoded_rows_are_column_major_and_decode_as_row_major_ones(mixed):
    """The tokenizer decodes into a column-major matrix (the encoder's layout: no copy
    before decoding the columns), whose table equals that of the same matrix row-major."""
    model, frame = mixed
    tokens = model.tokenizer_.encode(model.encoder_.transform(frame, random_state=0))
    matrix = model.tokenizer_.decode(tokens, np.random.default_rng(4))
    assert matrix.flags.f_contiguous and matrix.dtype == np.float32
    rows = np.ascontiguousarray(matrix)
    pd.testing.assert_frame_equal(
        model.encoder_.inverse_transform(matrix, random_state=5),
        model.encoder_.inverse_transform(rows, random_state=5),
    )
