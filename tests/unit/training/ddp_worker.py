"""One rank of a 2-process gloo run, started by ``torchrun`` from ``test_distributed.py``.

``python -m torch.distributed.run --standalone --nproc-per-node 2 ddp_worker.py OUT`` fits
every neural family on a tiny table inside a process group this script initialises (the
Python API), checks the samples with the contract suite's fit/sample check, and leaves in
``OUT`` what the test compares: each rank's saved model, each rank's weights of an exact
full-batch regression, and the refusals it met.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

FAMILIES = ("transformer", "vae", "diffusion", "gan")


def linear_task():
    """Least squares on 3 features with SGD (float64: exact enough to compare)."""
    import torch

    class Linear(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.w = torch.nn.Parameter(torch.zeros(3, dtype=torch.float64))
            self.opt = torch.optim.SGD([self.w], lr=0.1)

        def training_step(self, batch, trainer):
            loss = ((batch[:, :3] @ self.w - batch[:, 3]) ** 2).mean()
            trainer.optimize(loss, self.opt)
            return {"loss": loss}

    return Linear()


def regression(out: Path | None = None, rank: int = 0):
    """Five full-batch steps on 41 rows (shards of 20 and 21 under two ranks): the weights
    match one process's only if each rank's gradient weighs by its share of the rows."""
    import numpy as np
    import torch

    from synthgen.training import Trainer

    data = torch.from_numpy(np.random.default_rng(0).normal(size=(41, 4)))
    task = linear_task()
    Trainer(max_epochs=5, batch_size=64, device="cpu", random_state=0).fit(task, data)
    weights = task.w.detach().numpy()
    if out is not None:
        np.save(out / f"regression-{rank}.npy", weights)
    return weights


def main(out: Path) -> None:
    import torch.distributed as tdist

    import synthgen as sg
    from synthgen.exceptions import ConfigurationError
    from synthgen.generators.registry import get_generator_class
    from synthgen.testing.contract import check_fit_sample
    from synthgen.testing.toys import make_mixed_table
    from synthgen.training import Trainer

    tdist.init_process_group("gloo")  # the caller's own group: synthgen uses it as it is
    rank = tdist.get_rank()
    data = make_mixed_table(150)
    for key in FAMILIES:
        params = {**get_generator_class(key)._fast_params(), "n_threads": 1}
        check_fit_sample(sg.make_generator(key, **params), data)
        model = sg.make_generator(key, **params, random_state=0).fit(data)
        model.save(out / f"{key}-{rank}.sgm")
    # No random_state: rank 0's seed, so the ranks still fit one model.
    model = sg.make_generator("vae", **get_generator_class("vae")._fast_params()).fit(data)
    model.save(out / f"unseeded-{rank}.sgm")
    regression(out, rank)
    refused = []
    try:
        Trainer(max_epochs=1, sample_rate=0.5, device="cpu").fit(linear_task(), [[0.0] * 4])
    except ConfigurationError as err:
        refused.append(str(err))
    try:
        sg.make_generator("vae", epsilon=1.0, **get_generator_class("vae")._fast_params()).fit(data)
    except ConfigurationError as err:
        refused.append(str(err))
    (out / f"refused-{rank}.json").write_text(json.dumps(refused))
    tdist.barrier()  # as synthgen's own finish(): no rank tears gloo down with work in flight
    tdist.destroy_process_group()


if __name__ == "__main__":
    from synthgen.training.distributed import exit_worker

    main(Path(sys.argv[1]))
    exit_worker()  # no finalisation: a gloo worker's normal exit aborts now and then
