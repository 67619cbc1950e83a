"""``python -m synthgen`` (and ``torchrun ... -m synthgen``): the ``synthgen`` command.

A torchrun worker ends with ``os._exit`` once its command is done and its output flushed:
after the process group is destroyed, about one worker exit in thirty under load aborted in
interpreter finalization ("terminate called without an active exception": a gloo thread
still joinable when C++ statics are torn down), which made torchrun report a failed run
after the model had been written. Skipping finalization skips ``atexit`` handlers, so
logging is shut down first; synthgen's commands remove their temporary files themselves.
"""

import logging
import os
import sys

from synthgen.cli import main
from synthgen.training.distributed import started_process_group

status = main()
if started_process_group():
    logging.shutdown()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(status)
raise SystemExit(status)
