"""Autoregressive transformer generator: tokenizer, network and estimator."""

from synthgen.generators.transformer.generator import (
    SIZE_PRESETS,
    TabularTransformer,
    choose_size,
)
from synthgen.generators.transformer.model import KVCache, TokenTransformer
from synthgen.generators.transformer.tokenizer import RowTokenizer

__all__ = [
    "SIZE_PRESETS",
    "KVCache",
    "RowTokenizer",
    "TabularTransformer",
    "TokenTransformer",
    "choose_size",
]
