"""Optional peer generators, each run in its own virtual environment.

A peer runs only when the environment variable naming its Python is set, e.g.::

    python3 -m venv /opt/peers/sdv && /opt/peers/sdv/bin/pip install torch==2.13.0 sdv pyarrow
    export SYNTHGEN_PEER_SDV_PYTHON=/opt/peers/sdv/bin/python

The adapter writes the train table to a temporary Parquet file, runs the peer's script under
that Python (fit, then sample), and reads the synthetic rows and the peer's own timings back.
Peers are never synthgen dependencies.
"""

from __future__ import annotations

import json
import os
import subprocess
import tempfile
from pathlib import Path

import pandas as pd

SCRIPTS = Path(__file__).resolve().parent / "peer_scripts"

#: peer name -> (environment variable with its Python, script, model name passed to it)
PEERS = {
    "sdv_ctgan": ("SYNTHGEN_PEER_SDV_PYTHON", "sdv_peer.py", "ctgan"),
    "sdv_tvae": ("SYNTHGEN_PEER_SDV_PYTHON", "sdv_peer.py", "tvae"),
    "sdv_copula": ("SYNTHGEN_PEER_SDV_PYTHON", "sdv_peer.py", "copula"),
    "mostlyai_argn": ("SYNTHGEN_PEER_MOSTLYAI_PYTHON", "mostlyai_peer.py", "tabular"),
    "synthcity_tabddpm": ("SYNTHGEN_PEER_SYNTHCITY_PYTHON", "synthcity_peer.py", "ddpm"),
}


def available_peers() -> list[str]:
    """Peers whose Python is configured."""
    return [name for name, (var, _, _) in PEERS.items() if os.environ.get(var)]


def run_peer(
    name: str,
    train: pd.DataFrame,
    n_rows: int,
    seed: int,
    quick: bool,
    target: str = "",
    epochs: int | None = None,
    sample_repeats: int = 1,
    sample_runs: list[float] | None = None,
    later_draws: list[pd.DataFrame] | None = None,
    keep_draws: int = 1,
) -> tuple[pd.DataFrame, float, float]:
    """Fit peer ``name`` on ``train`` and sample ``n_rows``; returns (rows, fit s, sample s).

    ``target`` names the prediction target for peers that condition on it (synthcity);
    ``epochs`` sets the training epochs of the peers that take them (SDV's CTGAN and TVAE,
    mostlyai-engine's most epochs), e.g. one epoch for the cost curves. With
    ``sample_repeats`` above one the peer draws its ``n_rows`` that many times from the same
    fitted model: the rows are the first draw's, the sample seconds the median, and every
    draw's seconds are appended to ``sample_runs`` when given. With ``keep_draws`` above one
    the peer draws at least that many times and the rows of its second to ``keep_draws``-th
    draws are appended to ``later_draws`` (``--score-draws``)."""
    var, script, model = PEERS[name]
    python = os.environ.get(var)
    if not python:
        raise RuntimeError(f"peer {name!r} is not configured: set {var} to its Python")
    with tempfile.TemporaryDirectory() as tmp:
        data, out, timing = (
            Path(tmp, "train.parquet"),
            Path(tmp, "syn.parquet"),
            Path(tmp, "t.json"),
        )
        train.to_parquet(data, index=False)
        cmd = [python, str(SCRIPTS / script), "--model", model, "--train", str(data)]
        cmd += ["--rows", str(n_rows), "--seed", str(seed), "--out", str(out)]
        cmd += ["--timing", str(timing), "--target", target] + (["--quick"] if quick else [])
        cmd += [] if epochs is None else ["--epochs", str(epochs)]
        cmd += [] if sample_repeats <= 1 else ["--sample-repeats", str(sample_repeats)]
        cmd += [] if keep_draws <= 1 else ["--keep-draws", str(keep_draws)]
        proc = subprocess.run(cmd, capture_output=True, text=True)
        if proc.returncode:  # the peer's own words, not only its exit status
            raise RuntimeError(
                f"peer {name!r} exited with {proc.returncode}: {proc.stderr[-2000:].strip()}"
            )
        times = json.loads(timing.read_text())
        if sample_runs is not None:
            sample_runs.extend(float(t) for t in times.get("sample_runs_s", [times["sample_s"]]))
        if later_draws is not None:
            later_draws.extend(pd.read_parquet(f"{out}.{i}") for i in range(1, keep_draws))
        return pd.read_parquet(out), float(times["fit_s"]), float(times["sample_s"])
