"""Reversible encoders per column kind, and the TableEncoder that emits typed output spans."""

from synthgen.transforms.table import Span, TableEncoder

__all__ = ["Span", "TableEncoder"]
