"""The generator a user gets without asking for one: the best that fits the table in a
reasonable time on an ordinary CPU, chosen from the table's size alone.

The choice depends only on the number of rows and columns, never on the machine's speed or
load, so the same table gets the same generator (and, with a seed, the same rows) anywhere.
Neural fits cost about rows x columns x epochs; on the 2-core reference machine (one thread)
the transformer fits Adult (26,048 rows x 15 columns, 0.39 million cells) in 48 s and the VAE
in 33 s, so the limits below keep a default fit to about two minutes there. The fast generators
stay one flag away (``-g copula``, ``generator="copula"``).

Wide tables (101 to 300 columns) get the transformer too, which groups their columns into at
most 32 attention positions (``columns_per_position="auto"``): on 112 real columns (Adult,
bank marketing and creditcard side by side, twice each, 10,000 rows) it scored detection AUC
0.908 and column shapes 0.975 in 138 s, where the VAE scored 1.000 and 0.850 (65 s) and the
copula 1.000 and 0.990 (1 s); other rows of the same tables (8,900) gave 0.931 and 0.970
(98 s) against 1.000 and 0.829, and 1.000 and 0.990. On generated tables of 200 columns x
5,000 rows and 300 x 3,300 the VAE again scored the worst (detection 1.000, shapes 0.849 and
0.722; the transformer 0.918 / 0.966 and 0.868 / 0.927 in 101 s and 86 s) (``python -m
benchmarks.bench_defaults --table real`` and ``--table cols --cols 200 --rows 5000`` repeat
these measurements).

The VAE is the default only up to 64 columns, where it keeps its autoregressive decoder head
(``synthgen.generators.vae.generator.AUTOREGRESSIVE_MAX_COLUMNS``). Past the transformer's
cells and 64 columns the copula matched or beat it: the first 80 and 100 of those 112 real
columns at 15,000 rows (1.2 and 1.5 million cells), column shapes / pair trends / detection
AUC, copula 0.993 / 0.989 / 0.995 and 0.993 / 0.989 / 0.999 in 1.6 s, the VAE without its
head 0.939 / 0.991 / 0.994 and 0.916 / 0.991 / 0.999 in 51 and 61 s (with the head 0.928 /
0.994 / 0.978 and 0.894 / 0.993 / 1.000).
"""

from __future__ import annotations

__all__ = ["DEFAULT_LIMITS", "default_generator", "explain_default"]

#: (generator, most rows x columns, most columns, fewest rows), tried in order; the copula
#: takes any table the others do not.
DEFAULT_LIMITS: tuple[tuple[str, int, int, int], ...] = (
    ("transformer", 1_000_000, 300, 2_000),
    ("vae", 1_500_000, 64, 2_000),
)


def default_generator(n_rows: int, n_columns: int) -> str:
    """Registry key of the default generator for a table of ``n_rows`` x ``n_columns``.

    ============================  ===========  ============  ==========================
    rows x columns (cells)        columns      rows          generator
    ============================  ===========  ============  ==========================
    up to 1,000,000               up to 300    2,000 or more ``transformer`` (best quality)
    up to 1,500,000               up to 64     2,000 or more ``vae``
    anything else                                            ``copula`` (seconds)
    ============================  ===========  ============  ==========================

    Under 2,000 rows a network has too few batches to learn from and the copula is the better
    model (on 300 Adult rows the copula kept pair trends at 0.78 against the transformer's 0.62,
    on 1,000 the two were mixed, on 3,000 the transformer led with 0.93 against 0.83); above the
    cell limits a neural fit would take more than a few minutes on a CPU.

    Examples
    --------
    >>> default_generator(26_048, 15)  # Adult's training rows
    'transformer'
    >>> default_generator(80_000, 15), default_generator(500_000, 30)
    ('vae', 'copula')
    >>> default_generator(8_000, 120), default_generator(12_000, 120)  # a wide table
    ('transformer', 'copula')
    >>> default_generator(400, 15)
    'copula'
    """
    cells = int(n_rows) * int(n_columns)
    for key, most_cells, most_columns, fewest_rows in DEFAULT_LIMITS:
        if cells <= most_cells and n_columns <= most_columns and n_rows >= fewest_rows:
            return key
    return "copula"


def explain_default(n_rows: int, n_columns: int) -> str:
    """One sentence saying which generator the default is for this table, and why.

    Examples
    --------
    >>> explain_default(26_048, 15)
    'generator: transformer (the default for 26,048 rows x 15 columns; -g copula fits in seconds)'
    >>> explain_default(400, 15)
    'generator: copula (the default for 400 rows x 15 columns: too few rows to train a network)'
    """
    key = default_generator(n_rows, n_columns)
    size = f"{n_rows:,} rows x {n_columns} columns"
    if key != "copula":
        return f"generator: {key} (the default for {size}; -g copula fits in seconds)"
    if n_rows < DEFAULT_LIMITS[0][3]:
        why = "too few rows to train a network"
    else:
        why = "a neural fit would take many minutes; -g transformer to try one"
    return f"generator: copula (the default for {size}: {why})"
