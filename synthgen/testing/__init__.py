"""Test helpers: the generator contract suite and toy table builders."""

from synthgen.testing.contract import CHECKS, check_generator
from synthgen.testing.toys import make_mixed_table, make_structured_table

__all__ = ["CHECKS", "check_generator", "make_mixed_table", "make_structured_table"]
