"""The process entry point of the ``synthgen`` command (the console script and
``python -m synthgen``): :func:`synthgen.cli.main`, then how the process exits."""

from __future__ import annotations

from synthgen.cli import main
from synthgen.training.distributed import exit_worker, started_process_group

__all__ = ["run"]


def run() -> None:
    """The ``synthgen`` command and ``python -m synthgen``: :func:`synthgen.cli.main`, then
    the exit.

    A torchrun worker leaves through
    :func:`~synthgen.training.distributed.exit_worker` once its command is done (no
    interpreter finalisation, where about one worker exit in thirty under load aborted and
    torchrun reported a failed run after the model had been written); synthgen's commands
    remove their temporary files themselves. Any other process exits normally.
    """
    status = main()
    if started_process_group():
        exit_worker(status)
    raise SystemExit(status)
