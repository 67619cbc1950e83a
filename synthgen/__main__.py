"""``python -m synthgen`` (and ``torchrun ... -m synthgen``): the ``synthgen`` command
(:func:`synthgen.cli.entry.run`, which also says how a torchrun worker exits)."""

from synthgen.cli.entry import run

run()
