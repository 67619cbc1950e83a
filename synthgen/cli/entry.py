"""The process entry point of the ``synthgen`` command (the console script and
``python -m synthgen``): :func:`synthgen.cli.main`, then how the process exits."""

from __future__ import annotations

import logging
import os
import sys

from synthgen.cli import main
from synthgen.training.distributed import started_process_group

__all__ = ["run"]


def run() -> None:
    """The ``synthgen`` command and ``python -m synthgen``: :func:`synthgen.cli.main`, then
    the exit.

    A torchrun worker leaves with ``os._exit`` once its command is done and its output
    flushed: after the process group is destroyed, about one worker exit in thirty under
    load aborted in interpreter finalisation ("terminate called without an active
    exception": a gloo thread still joinable when C++ statics are torn down), and torchrun
    then reported a failed run after the model had been written. Skipping finalisation skips
    ``atexit`` handlers, so logging is shut down first; synthgen's commands remove their
    temporary files themselves. Any other process exits normally.
    """
    status = main()
    if started_process_group():
        logging.shutdown()
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(status)
    raise SystemExit(status)
