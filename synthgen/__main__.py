"""``python -m synthgen`` (and ``torchrun ... -m synthgen``): the ``synthgen`` command."""

from synthgen.cli import main

raise SystemExit(main())
