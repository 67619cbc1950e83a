"""``torchrun`` for the multi-process tests: two gloo ranks on CPU, their output kept.

The test modules that start ``torchrun`` share one xdist group (``"torchrun"``), so that two
launches never run at once: each picks its rendezvous port as "free" and then releases it,
and two launches side by side with gloo connecting over ephemeral ports can meet on one.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[3]


def torchrun(
    *args: str,
    cwd: Path,
    check: bool = True,
    timeout: float = 400,
    env: dict[str, str] | None = None,
    path: tuple[Path, ...] = (),
) -> subprocess.CompletedProcess:
    """``torchrun --standalone --nproc-per-node 2 ARGS`` (a free port, gloo on CPU).

    With ``check``, a failed run raises an ``AssertionError`` that holds the end of every
    rank's own stdout and stderr (``--tee``: a rank that aborts from C++ leaves only a line
    in the launcher's output), then the launcher's. ``env`` adds variables; ``path``
    puts folders before the repository on ``PYTHONPATH``.
    """
    extra = env or {}
    env = {k: v for k, v in os.environ.items() if k not in ("RANK", "WORLD_SIZE")}
    pythonpath = os.pathsep.join([*map(str, path), str(REPO)])
    env.update(OMP_NUM_THREADS="1", PYTHONPATH=pythonpath, CUDA_VISIBLE_DEVICES="", **extra)
    with tempfile.TemporaryDirectory(prefix="torchrun-") as logs:
        cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone"]
        cmd += ["--nproc-per-node", "2", "--log-dir", logs, "--tee", "3"]
        run = subprocess.run(
            [*cmd, *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout
        )
        if check and run.returncode != 0:
            ranks = [
                f"--- {path.relative_to(logs)}\n{path.read_text(errors='replace')[-4000:]}"
                for path in sorted(Path(logs).rglob("*.log"))
            ]
            raise AssertionError(
                f"torchrun exited with {run.returncode}\n"
                + "\n".join(ranks)
                + f"\n--- launcher\n{run.stdout[-2000:]}{run.stderr[-3000:]}"
            )
    return run
