"""Data-parallel training on torch.distributed: shards, refusals, and 2-process gloo runs."""

from __future__ import annotations

import itertools
import json
from pathlib import Path

import numpy as np
import pytest

import synthgen as sg
from synthgen.bundle import read_bundle
from synthgen.exceptions import ConfigurationError
from synthgen.generators.registry import get_generator_class
from synthgen.tabular_io import read_table
from synthgen.testing import make_mixed_table
from synthgen.training import default_n_threads
from synthgen.training import distributed as dist

# pytest puts this folder on sys.path (rootdir-relative "prepend" imports).
from ddp_worker import FAMILIES, regression  # isort: skip
from launch import torchrun  # isort: skip

REPO = Path(__file__).resolve().parents[3]
WORKER = Path(__file__).with_name("ddp_worker.py")

pytestmark = [pytest.mark.usefixtures("one_thread"), pytest.mark.xdist_group("torchrun")]


def _arrays(path: Path) -> dict[str, np.ndarray]:
    return read_bundle(path).arrays


def _same_arrays(a: dict[str, np.ndarray], b: dict[str, np.ndarray]) -> bool:
    return a.keys() == b.keys() and all(
        a[k].dtype == b[k].dtype and a[k].tobytes() == b[k].tobytes() for k in a
    )


# -- one process ---------------------------------------------------------------------------------
@pytest.mark.parametrize(("n", "world"), [(1, 2), (7, 3), (500, 2), (501, 4), (3, 4)])
def test_shards_partition_each_batch_evenly(n, world):
    bounds = [dist.shard_bounds(n, r, world) for r in range(world)]
    assert bounds[0][0] == 0 and bounds[-1][1] == n
    assert all(a[1] == b[0] for a, b in itertools.pairwise(bounds))
    sizes = [hi - lo for lo, hi in bounds]
    assert max(sizes) - min(sizes) <= 1


def test_a_plain_process_is_a_world_of_one():
    assert (dist.world_size(), dist.rank(), dist.is_main_process()) == (1, 0, True)
    assert dist.ensure_process_group("cpu") is False
    assert dist.backend_for("cuda:1") == "nccl" and dist.backend_for("cpu") == "gloo"


def test_exit_worker_flushes_and_skips_finalisation(tmp_path):
    """The status comes back, printed and logged lines are out, and no ``atexit`` handler
    runs (the interpreter is not finalised)."""
    import subprocess
    import sys

    code = (
        "import atexit, logging, sys\n"
        "from synthgen.training.distributed import exit_worker\n"
        f"atexit.register(lambda: open({str(tmp_path / 'finalised')!r}, 'w').close())\n"
        "logging.basicConfig(stream=sys.stderr)\n"
        "print('done', end='')\n"
        "logging.getLogger('w').warning('logged')\n"
        "exit_worker(3)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert (out.returncode, out.stdout) == (3, "done")
    assert "logged" in out.stderr
    assert not (tmp_path / "finalised").exists()


def test_torchrun_environment_without_its_rendezvous_is_refused(monkeypatch):
    monkeypatch.setenv("WORLD_SIZE", "2")
    monkeypatch.setenv("RANK", "1")
    monkeypatch.delenv("MASTER_ADDR", raising=False)
    with pytest.raises(ConfigurationError, match="MASTER_ADDR"):
        dist.ensure_process_group("cpu")
    monkeypatch.setenv("WORLD_SIZE", "two")
    with pytest.raises(ConfigurationError, match="WORLD_SIZE must be an integer"):
        dist.world_size()


def test_dp_sgd_is_refused_before_any_work_undertorchrun(monkeypatch, mixed):
    monkeypatch.setenv("WORLD_SIZE", "2")
    model = sg.make_generator("vae", epsilon=1.0, **get_generator_class("vae")._fast_params())
    with pytest.raises(ConfigurationError, match=r"epsilon .* several processes"):
        model.fit(mixed)


def test_processes_of_one_machine_share_its_threads(monkeypatch):
    alone = default_n_threads()
    monkeypatch.setenv("LOCAL_WORLD_SIZE", "1024")
    assert default_n_threads() == 1 <= alone


# -- two processes (gloo) ------------------------------------------------------------------------
@pytest.fixture(scope="module")
def api_run(tmp_path_factory):
    """Every neural family fitted by two ranks inside a process group the caller set up."""
    out = tmp_path_factory.mktemp("ddp")
    torchrun(str(WORKER), str(out), cwd=REPO)
    return out


@pytest.mark.parametrize("key", [*FAMILIES, "unseeded"])
def test_every_rank_ends_with_the_same_model(api_run, key):
    """The gradients are summed across ranks (each trained on its own shards), the seed of
    an unseeded fit is rank 0's: both ranks hold one model, down to the last bit."""
    a, b = (_arrays(api_run / f"{key}-{r}.sgm") for r in (0, 1))
    assert _same_arrays(a, b)
    loaded = sg.load(api_run / f"{key}-0.sgm")
    assert loaded.n_epochs_ == 2 and len(loaded.history_) == 2


def test_two_ranks_take_one_process_full_batch_steps(api_run):
    """Uneven shards (20 and 21 rows) weigh by their rows: the steps of one process."""
    single = regression()
    for r in (0, 1):
        np.testing.assert_allclose(np.load(api_run / f"regression-{r}.npy"), single, rtol=1e-12)


def test_dp_sgd_is_refused_inside_a_process_group(api_run):
    for r in (0, 1):
        refused = json.loads((api_run / f"refused-{r}.json").read_text())
        assert len(refused) == 2
        assert "one process only" in refused[0] and "several processes" in refused[1]


# Imported by every Python process of a run (``sitecustomize`` on PYTHONPATH): a worker
# (torchrun sets LOCAL_RANK) that runs its atexit handlers, i.e. finalises the interpreter,
# leaves a file behind.
_FINALISATION_PROBE = """
import atexit, os
if "LOCAL_RANK" in os.environ:
    path = os.path.join(os.environ["PROBE_DIR"], "finalised-" + os.environ["LOCAL_RANK"])
    atexit.register(lambda: open(path, "w").close())
"""


def test_torchrun_cli_fit_is_repeatable_and_its_model_samples(tmp_path, tmp_path_factory):
    """``torchrun --nproc-per-node 2 -m synthgen fit``: rank 0 writes the model, two runs
    with the same seed write the same weights, and the model samples the table's columns.
    The workers end without finalising the interpreter, where gloo's threads made about one
    exit in thirty abort under load (``synthgen.cli.entry.run``)."""
    data = make_mixed_table(150)
    csv = tmp_path / "data.csv"
    data.to_csv(csv, index=False)
    probe = tmp_path_factory.mktemp("probe")
    (probe / "sitecustomize.py").write_text(_FINALISATION_PROBE)
    fit = ["-m", "synthgen", "fit", str(csv), "-g", "transformer", "--random-state", "3"]
    fit += ["--param", "epochs=2", "--param", "batch_size=64", "--quiet"]
    outs = [tmp_path / "a.sgm", tmp_path / "b.sgm"]
    for out in outs:
        run = torchrun(
            *fit, "-o", str(out), cwd=tmp_path, env={"PROBE_DIR": str(probe)}, path=(probe,)
        )
        assert run.stdout.count("fitted transformer") == 1  # rank 0 alone reports
    assert sorted(p.name for p in probe.iterdir()) == ["sitecustomize.py"]
    assert _same_arrays(_arrays(outs[0]), _arrays(outs[1]))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.sgm", "b.sgm", "data.csv"]
    real = read_table(csv)
    sample = sg.load(outs[0]).sample(80, random_state=0)
    assert list(sample.columns) == list(real.columns)
    assert dict(sample.dtypes) == dict(real.dtypes)
