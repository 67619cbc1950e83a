"""Autoregressive transformer generator: tokenizer, network and estimator."""

from synthgen.generators.transformer.generator import (
    SIZE_PRESETS,
    TabularTransformer,
    choose_size,
)
from synthgen.generators.transformer.model import KVCache, LaneCache, TokenTransformer
from synthgen.generators.transformer.tokenizer import RowTokenizer
from synthgen.generators.transformer.wide import WideTransformer

__all__ = [
    "SIZE_PRESETS",
    "KVCache",
    "LaneCache",
    "RowTokenizer",
    "TabularTransformer",
    "TokenTransformer",
    "WideTransformer",
    "choose_size",
]
