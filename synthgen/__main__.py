"""``python -m synthgen`` (and ``torchrun ... -m synthgen``): the ``synthgen`` command
(:func:`synthgen.cli.run`, which also says how a torchrun worker exits)."""

from synthgen.cli import run

run()
