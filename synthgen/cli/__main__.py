"""``python -m synthgen.cli``: the ``synthgen`` command."""

from synthgen.cli import main

raise SystemExit(main())
