"""Conditional sampling, imputation and rebalancing on top of any fitted generator."""

from synthgen.sampling.conditions import Condition, Range, parse_conditions, parse_fixed_frame
from synthgen.sampling.engine import Check, draw_rows

__all__ = ["Check", "Condition", "Range", "draw_rows", "parse_conditions", "parse_fixed_frame"]
