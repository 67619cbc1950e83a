"""``python -m benchmarks run ...``: see :mod:`benchmarks.run`."""

import sys

from benchmarks.run import main

if __name__ == "__main__":
    argv = sys.argv[1:]
    if argv[:1] == ["run"]:
        argv = argv[1:]
    raise SystemExit(main(argv))
