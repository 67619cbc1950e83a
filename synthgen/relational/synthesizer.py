"""The multi-table model: linked tables and event sequences, built on single-table generators.

Design (issue 19): every table is learned by ONE single-table generator of the registry.

- A parent's training rows get one count column per child link (children per row), so the
  parent's generator learns how many children a row has jointly with its values.
- A child's training rows are its rows joined with their first parent's values (the
  context); it is sampled with the generator's public ``draw_given``: one row per child to
  make, the parent's values fixed.
- A child with a sequence key is learned as events: each row also gets its place, the
  events left, the previous event's values and the order value as a step from the previous
  event (the first event: an offset from the parent column that explains it best, such as a
  birth date). Sampling runs step by step over all parents with events to come; a step is
  never negative, so sequences are in order by construction.
- Keys are fresh (1..n, or ``<table>_000001`` for text keys); a child's foreign key is its
  synthetic parent's key, so every key resolves. A further foreign key of a table (a child
  with two parents) is drawn from the other parent's synthetic keys, each key used as often
  as that parent's drawn count for the link says (its children-per-row shape holds; the rows
  are matched at random, not by their values).

Key columns are never learned as data, and no key value is stored in a saved model.
"""

from __future__ import annotations

import os
import time
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from synthgen.bundle import Bundle
from synthgen.exceptions import ConfigurationError, DataError, NotFittedError, PersistenceError
from synthgen.generators.registry import get_generator_class, make_generator
from synthgen.relational.extend import extend_sequences
from synthgen.relational.features import make_keys
from synthgen.relational.fitting import fit_table
from synthgen.relational.persistence import read_relational, save_relational
from synthgen.relational.plan import TablePlan
from synthgen.relational.sampling import (
    Drawn,
    assemble,
    draw_tables,
    fill_counts,
    roots_for_further_keys,
)
from synthgen.schema import check_frame
from synthgen.schema.metadata import Metadata
from synthgen.utils import check_random_state

__all__ = ["TRANSFORMER_DEFAULTS", "RelationalSynthesizer", "transformer_epochs"]

#: Defaults for the transformer in a relational model (overridden by ``generator_params``):
#: mostly the columns' own order, since every draw here fixes a leading run of columns (the
#: parent's values, then the event's place and predecessor) and generates the rest in that
#: order; ``epochs`` follows :func:`transformer_epochs`.
TRANSFORMER_DEFAULTS: dict[str, Any] = {"random_order": 0.1}
#: Cells (rows x columns) read per table fit by the transformer's default epochs (see
#: :func:`transformer_epochs`).
CELL_PASSES = 2_000_000


def transformer_epochs(n_rows: int, n_columns: int) -> int:
    """Default epochs of a table's transformer: about :data:`CELL_PASSES` cells read, 1 to 10
    epochs. A transformer's step costs about as much per cell as per row of a narrow table,
    and a child table's rows are many and wide (each carries its parent's columns, a sequence
    event also its place and its predecessor), so a budget of rows would make a wide table's
    fit hours long on a CPU; early stopping may end sooner.

    Examples
    --------
    >>> transformer_epochs(16_000, 11), transformer_epochs(16_000, 27)
    (10, 5)
    >>> transformer_epochs(70_000, 37), transformer_epochs(37_000, 12)
    (1, 5)
    """
    cells = max(n_rows, 1) * max(n_columns, 1)
    return int(np.clip(np.ceil(CELL_PASSES / cells), 1, 10))


#: Most previous-event columns fed to the next event of a sequence.
MAX_LAGS = 8


class RelationalSynthesizer:
    """Learn linked tables (parents, children, event sequences) and draw new ones.

    Parameters
    ----------
    generator : str or dict of str to str
        Registry key of the single-table generator (one that draws given fixed cells:
        ``"transformer"``, ``"copula"``, ``"diffusion"``, ``"marginals"``), or one per table.
    generator_params : dict, optional
        Parameters of every table's generator (``{"epochs": 4, "n_threads": 1}``).
    table_params : dict of str to dict, optional
        Further parameters of one table's generator.
    random_state : int, optional
        Seed: the same seed gives the same model and the same tables.
    max_lags : int
        Most columns of the previous event a sequence's next event is drawn given (its step
        first, then its columns in table order; default 8).

    Attributes
    ----------
    metadata_ : Metadata
        The tables' keys and links (detected when not given).
    plans_ : dict of str to TablePlan
        What was learned about each table, with its fitted generator (``plans_[t].model``).
    fit_seconds_ : dict of str to float
        Wall-clock seconds each table's fit took (a record; nothing depends on it).

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> rng = np.random.default_rng(0)
    >>> users = pd.DataFrame({"id": range(40), "age": rng.integers(18, 80, 40)})
    >>> buys = pd.DataFrame({"users_id": rng.integers(0, 40, 90),
    ...                      "day": rng.integers(1, 300, 90), "amt": rng.gamma(2, 9, 90)})
    >>> model = RelationalSynthesizer("copula", random_state=0).fit({"users": users, "buys": buys})
    >>> out = model.sample(random_state=1)
    >>> len(out["users"]), bool(out["buys"]["users_id"].isin(out["users"]["id"]).all())
    (40, True)
    """

    def __init__(
        self,
        generator: str | Mapping[str, str] = "transformer",
        generator_params: Mapping[str, Any] | None = None,
        *,
        table_params: Mapping[str, Mapping[str, Any]] | None = None,
        random_state: Any = None,
        max_lags: int = MAX_LAGS,
    ) -> None:
        self.generator = generator
        self.generator_params = generator_params
        self.table_params = table_params
        self.random_state = random_state
        self.max_lags = max_lags

    # -- parameters ---------------------------------------------------------------------------
    def get_params(self) -> dict[str, Any]:
        return {
            "generator": self.generator,
            "generator_params": self.generator_params,
            "table_params": self.table_params,
            "random_state": self.random_state,
            "max_lags": self.max_lags,
        }

    def __repr__(self) -> str:
        return f"RelationalSynthesizer(generator={self.generator!r})"

    def _generator_key(self, table: str) -> str:
        key = (
            self.generator.get(table, "transformer")
            if isinstance(self.generator, Mapping)
            else self.generator
        )
        if not isinstance(key, str):
            raise ConfigurationError(f"generator must be a registry key, got {key!r}")
        cls = get_generator_class(key)
        if not cls.tags.conditioning:
            raise ConfigurationError(
                f"generator {key!r} cannot draw rows given fixed cells (tags.conditioning), "
                "which child tables need: use 'transformer', 'copula', 'diffusion' or "
                "'marginals'"
            )
        return key

    def _check_params(self, tables: Mapping[str, Any]) -> None:
        g = self.generator
        if not (isinstance(g, str) or (
            isinstance(g, Mapping) and all(isinstance(v, str) for v in g.values())
        )):  # fmt: skip
            raise ConfigurationError(
                f"generator must be a registry key or a dict of table to key, got {g!r:.80}"
            )
        r = self.random_state
        if not (r is None or isinstance(r, np.random.Generator) or (
            isinstance(r, (int, np.integer)) and not isinstance(r, bool) and r >= 0
        )):  # fmt: skip
            raise ConfigurationError(
                f"random_state must be None, an integer >= 0 or a Generator, got {r!r:.80}"
            )
        m = self.max_lags
        if isinstance(m, bool) or not isinstance(m, int) or m < 0:
            raise ConfigurationError(f"max_lags must be a whole number >= 0, got {m!r}")
        for what, value in (("generator_params", self.generator_params),
                            ("table_params", self.table_params)):  # fmt: skip
            if value is not None and not isinstance(value, Mapping):
                raise ConfigurationError(f"{what} must be a dict, got {type(value).__name__}")
        unknown = sorted(set(self.table_params or {}) - set(tables))
        if isinstance(self.generator, Mapping):
            unknown += sorted(set(self.generator) - set(tables))
        if unknown:
            raise ConfigurationError(f"parameters name unknown table(s) {unknown}")

    def _make_model(self, seeds: dict[str, int]):
        def make(table: str, rows: pd.DataFrame):
            key = self._generator_key(table)
            params: dict[str, Any] = {}
            if key == "transformer":
                epochs = transformer_epochs(*rows.shape)
                params = {**TRANSFORMER_DEFAULTS, "epochs": epochs}
            params.update(self.generator_params or {})
            params.update((self.table_params or {}).get(table, {}))
            return make_generator(key, **{**params, "random_state": seeds[table]})

        return make

    # -- fitting ------------------------------------------------------------------------------
    def fit(
        self, tables: Mapping[str, pd.DataFrame], metadata: Metadata | None = None
    ) -> RelationalSynthesizer:
        """Learn the linked ``tables`` (never modified).

        Parameters
        ----------
        tables : dict of str to DataFrame
            The tables by name.
        metadata : Metadata, optional
            Keys, links and sequence orders; detected from the tables when omitted
            (:meth:`Metadata.detect`).

        Raises
        ------
        MetadataError
            The tables do not fit the metadata (a dangling foreign key, a duplicate key, ...).
        ConfigurationError
            A generator that cannot draw given fixed cells, or an invalid parameter.
        """
        if not isinstance(tables, Mapping) or not tables:
            raise DataError("tables must be a non-empty dict of table name to DataFrame")
        tables = {name: check_frame(df, what=f"table {name!r}") for name, df in tables.items()}
        self._check_params(tables)
        for name in tables:
            self._generator_key(name)  # an unusable generator is refused before any work
        if metadata is None:
            metadata = Metadata.detect(tables)
        elif not isinstance(metadata, Metadata):
            raise ConfigurationError(f"metadata must be a Metadata, got {type(metadata).__name__}")
        else:
            metadata.validate(tables)
        rng = check_random_state(self.random_state)
        order = metadata.topological_order()
        seeds = {name: int(rng.integers(2**31)) for name in order}
        make = self._make_model(seeds)
        plans: dict[str, TablePlan] = {}
        frames: dict[str, pd.DataFrame] = {}
        seconds = {}
        for name in order:
            start = time.perf_counter()
            plans[name] = fit_table(name, tables, metadata, plans, frames, make, self.max_lags,
                                    self._generator_key(name))  # fmt: skip
            seconds[name] = round(time.perf_counter() - start, 2)
        self.fit_seconds_ = seconds  # a record only: nothing depends on the clock
        self.metadata_ = metadata
        self.plans_ = plans
        self._seed_stream(int(rng.integers(2**62)))
        return self

    def _seed_stream(self, seed: int) -> None:
        self.sample_seed_ = seed
        self.rng_ = np.random.default_rng(seed)

    def _check_fitted(self) -> None:
        if not hasattr(self, "plans_"):
            raise NotFittedError(
                "this RelationalSynthesizer is not fitted yet: call fit(tables) before sampling"
            )

    # -- sampling -----------------------------------------------------------------------------
    def sample(self, scale: float = 1.0, *, random_state: Any = None) -> dict[str, pd.DataFrame]:
        """Draw a new set of linked tables.

        Parameters
        ----------
        scale : float
            Root tables get ``scale`` times their training rows (at least one row); child
            tables follow from the drawn counts.
        random_state : int, Generator or None
            Seed for these tables; ``None`` continues the model's own seeded stream.

        Returns
        -------
        dict of str to DataFrame
            Every table, with the data's columns and dtypes; primary keys unique, every
            foreign key a key of its parent, every sequence in order.
        """
        self._check_fitted()
        if (
            isinstance(scale, bool)
            or not isinstance(scale, (int, float))
            or not (np.isfinite(scale) and scale > 0)
        ):
            raise ConfigurationError(f"scale must be a number > 0, got {scale!r}")
        rng = self.rng_ if random_state is None else check_random_state(random_state)
        n_roots = {
            name: max(1, round(scale * self.plans_[name].n_rows)) for name in self.metadata_.roots()
        }
        drawn = draw_tables(self.plans_, self.metadata_, rng, n_roots=n_roots)
        out = assemble(self.plans_, self.metadata_, drawn, rng)
        return {name: out[name] for name in self.metadata_.tables}

    def sample_children(
        self, parent_table: str, parents: pd.DataFrame, random_state: Any = None
    ) -> dict[str, pd.DataFrame]:
        """Draw the children (and their descendants) of given parent rows ("seed parents").

        Parameters
        ----------
        parent_table : str
            The table the rows belong to.
        parents : DataFrame
            Rows with that table's columns (its key, when present, is used as the children's
            foreign key; otherwise fresh keys are made). Missing count columns (how many
            children each row has) are drawn given the rows' values.
        random_state : int, Generator or None
            Seed; ``None`` continues the model's own stream.

        Returns
        -------
        dict of str to DataFrame
            Every table below ``parent_table`` through first foreign keys (not the parents),
            and the tables drawn (at scale 1) so that their further foreign keys resolve (the
            second parent of a child and its tree).
        """
        self._check_fitted()
        meta = self.metadata_
        if parent_table not in meta.tables:
            raise ConfigurationError(
                f"unknown table {parent_table!r}; the tables are {list(meta.tables)}"
            )
        parents = check_frame(parents, what="parents")
        plan = self.plans_[parent_table]
        order_col = [] if plan.order is None else [plan.order.column]
        needed = [c for c in plan.own + order_col if c not in parents.columns]
        if needed:
            raise DataError(f"parents lack the column(s) {needed} of table {parent_table!r}")
        rng = self.rng_ if random_state is None else check_random_state(random_state)
        frame = fill_counts(plan, parents.reset_index(drop=True).copy(), rng)
        pk = meta.tables[parent_table].primary_key
        keys = None
        if pk is not None:
            keys = (
                frame[pk]
                if pk in frame.columns
                else make_keys(parent_table, len(frame), plan.key_dtype)
            )
            if keys.isna().any() or keys.duplicated().any():
                raise DataError(f"parents: key column {pk!r} has missing or repeated values")
        given = {parent_table: Drawn(frame, keys, None)}
        n_roots = roots_for_further_keys(meta, self.plans_, parent_table)
        drawn = draw_tables(self.plans_, meta, rng, given=given, n_roots=n_roots)
        return assemble(self.plans_, meta, drawn, rng, skip=(parent_table,))

    def extend_sequences(
        self,
        table: str,
        parents: pd.DataFrame,
        events: pd.DataFrame,
        n_events: Any,
        *,
        further_keys: Mapping[str, Any] | None = None,
        random_state: Any = None,
    ) -> pd.DataFrame:
        """Further events of given sequences, in order after each one's last event: see
        :func:`synthgen.relational.extend.extend_sequences` (same parameters)."""
        self._check_fitted()
        rng = self.rng_ if random_state is None else check_random_state(random_state)
        return extend_sequences(self, table, parents, events, n_events, rng, further_keys)

    # -- persistence --------------------------------------------------------------------------
    def save(self, path: str | os.PathLike[str]) -> None:
        """Save the fitted model to one file (JSON + safetensors in a zip; no pickle);
        :func:`synthgen.load` reads it back."""
        self._check_fitted()
        save_relational(self, path)

    @classmethod
    def from_bundle(cls, bundle: Bundle, *, device: Any = None) -> RelationalSynthesizer:
        """A fitted model from a model file's contents (see :func:`synthgen.load`); every
        failure is a :class:`PersistenceError` naming the member."""
        params, meta, plans, seed = read_relational(bundle, device=device)
        try:
            model = cls(**params)
            model._check_params(meta.tables)
            if isinstance(model.generator, Mapping):
                model.generator = dict(model.generator)
        except (TypeError, ConfigurationError) as err:
            raise PersistenceError(
                f"member 'manifest.json': invalid RelationalSynthesizer parameters: {err}"
            ) from None
        model.metadata_ = meta
        model.plans_ = plans
        model._seed_stream(seed)
        return model
