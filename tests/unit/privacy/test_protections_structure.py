"""Export protections keep structure rules: rare parents merge within their child."""

from __future__ import annotations

import synthgen as sg
from synthgen.privacy.protections import Protections, protect_training_data
from synthgen.testing import make_structured_table
from synthgen.testing.structure import structure_breaks


def test_rare_neighbourhoods_merge_within_their_borough_and_rules_carry_over():
    data = make_structured_table(3000)
    schema = sg.Schema.infer(data)
    out, new_schema, log = protect_training_data(data, schema, Protections())
    assert log["merged_labels"]["neighbourhood"] > 0
    assert out["neighbourhood"].value_counts().min() >= 10  # no rare label left
    assert new_schema.structure.rules == schema.structure.rules
    assert not structure_breaks(data, out, schema.structure)


def test_rules_the_user_dropped_stay_dropped():
    data = make_structured_table(3000)
    schema = sg.Schema.infer(data)
    schema.structure.geo_pairs = []
    _, new_schema, _ = protect_training_data(data, schema, Protections())
    assert not new_schema.structure.geo_pairs
