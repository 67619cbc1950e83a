"""Every generator rejects an invalid value of every parameter, naming the parameter.

For each registered generator (canaries included) and each name in its ``get_params()``, the
invalid values are generated from the parameter's declared constraints
(:func:`synthgen.generators.params.constraints_of`): ``object()``, which no parameter takes,
and each constraint's own :meth:`~synthgen.generators.params.Constraint.invalid` example that
no other constraint of the parameter accepts (``0`` for an integer ``>= 1``, ``1.0`` for a
share in ``[0, 1)``, an unknown option, ...). ``fit`` must raise
:class:`synthgen.ConfigurationError` naming the parameter, and leave the parameter as it was.
"""

from __future__ import annotations

import re

import pytest

import synthgen as sg
from synthgen.generators import get_generator_class
from synthgen.generators.params import constraints_of
from synthgen.testing import make_mixed_table


def _invalid_values(cls: type, name: str) -> list[object]:
    options = constraints_of(cls)[name]
    values: list[object] = [object()]
    for constraint in options:
        bad = constraint.invalid()
        if not any(c.accepts(bad) for c in options):
            values.append(bad)
    return values


CASES = [
    (key, name, value)
    for key in sg.list_generators(include_canaries=True)
    for name in sorted(get_generator_class(key)().get_params(deep=False))
    for value in _invalid_values(get_generator_class(key), name)
]


@pytest.fixture(scope="module")
def table():
    return make_mixed_table(60)


@pytest.mark.parametrize(
    ("key", "name", "value"), CASES, ids=[f"{k}-{n}-{v!r:.20}" for k, n, v in CASES]
)
def test_an_invalid_value_of_every_parameter_is_refused_by_name(key, name, value, table):
    cls = get_generator_class(key)
    model = sg.make_generator(key, **cls._fast_params())
    model.set_params(**{name: value})
    with pytest.raises(sg.ConfigurationError, match=rf"\b{re.escape(name)}\b"):
        model.fit(table)
    assert model.get_params()[name] is value, "fit changed the parameter it refused"


@pytest.mark.parametrize("key", sg.list_generators(include_canaries=True))
def test_every_parameter_declares_its_constraints(key):
    cls = get_generator_class(key)
    assert set(cls().get_params(deep=False)) <= set(constraints_of(cls))


def test_a_parameter_without_a_constraint_is_reported(table):
    base = get_generator_class("marginals")

    class Undeclared(base):
        def __init__(self, *, colour="red", random_state=None, verbose=False):
            super().__init__(random_state=random_state, verbose=verbose)
            self.colour = colour

    with pytest.raises(sg.ConfigurationError, match="no constraint for 'colour'"):
        Undeclared().fit(table)
