"""``python -m benchmarks run ...`` and ``python -m benchmarks table FILES``: see
:mod:`benchmarks.run`; ``python -m benchmarks relational ...``: see :mod:`benchmarks.relational`;
``python -m benchmarks scale ...``: see :mod:`benchmarks.scale`."""

import sys

from benchmarks.run import main, table_main

if __name__ == "__main__":
    argv = sys.argv[1:]
    if argv[:1] == ["table"]:
        raise SystemExit(table_main(argv[1:]))
    if argv[:1] == ["relational"]:
        from benchmarks.relational import main as relational_main

        raise SystemExit(relational_main(argv[1:]))
    if argv[:1] == ["scale"]:
        from benchmarks.scale import main as scale_main

        raise SystemExit(scale_main(argv[1:]))
    if argv[:1] == ["run"]:
        argv = argv[1:]
    raise SystemExit(main(argv))
