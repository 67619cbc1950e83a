"""Linked tables and event sequences: a multi-table model on the single-table generators.

:class:`RelationalSynthesizer` learns tables linked by foreign keys (described by a
:class:`~synthgen.schema.metadata.Metadata`) and draws new linked tables whose keys all
resolve and whose sequences are in order.
"""

from synthgen.relational.persistence import RELATIONAL_KEY
from synthgen.relational.synthesizer import RelationalSynthesizer

__all__ = ["RELATIONAL_KEY", "RelationalSynthesizer"]
