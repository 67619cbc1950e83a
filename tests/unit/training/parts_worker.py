"""One rank of a 2-process gloo run over Parquet parts, started by ``torchrun`` from
``test_sharded_parts.py``.

``python -m torch.distributed.run --standalone --nproc-per-node 2 parts_worker.py OUT PARTS``
trains an exact full-batch regression on per-rank rows (sharded input), fits every neural
family on the parts folder ``PARTS`` with :func:`fit_parts` (recording the rows each rank
read), and meets the refusals; it leaves in ``OUT`` what the test compares.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

FAMILIES = ("transformer", "vae", "diffusion", "gan")


def main(out: Path, folder: Path) -> None:
    import numpy as np
    import pandas as pd
    import torch.distributed as tdist

    import synthgen as sg
    from synthgen.exceptions import SynthgenError
    from synthgen.generators.registry import get_generator_class
    from synthgen.generators.sharded import fit_parts
    from synthgen.generators.transformer import ordering
    from synthgen.parquet_parts import ParquetParts
    from synthgen.training import Trainer
    from synthgen.training.sharding import sharded_input

    sys.path.insert(0, str(Path(__file__).parent))
    from ddp_worker import linear_task

    tdist.init_process_group("gloo")
    rank = tdist.get_rank()
    record: dict = {"read": []}

    # Rank 0 holds rows 0-19, rank 1 rows 20-40: full-batch steps must be one process's.
    data = np.random.default_rng(0).normal(size=(41, 4))
    task = linear_task()
    with sharded_input():
        Trainer(max_epochs=5, batch_size=64, device="cpu", random_state=0).fit(
            task, data[:20] if rank == 0 else data[20:]
        )
    np.save(out / f"regression-{rank}.npy", task.w.detach().numpy())
    trainer = Trainer(max_epochs=1, batch_size=16, device="cpu", random_state=0)
    with sharded_input():
        trainer.fit(linear_task(), data[:30] if rank == 0 else data[30:])
    record["steps"] = [trainer.steps_per_epoch_, trainer.global_step_]

    read = ParquetParts.read

    def logged(self, units):
        frame = read(self, units)
        record["read"].append(len(frame))
        return frame

    ParquetParts.read = logged
    # 8 shared lanes: few columns chosen, so the ranks' rows alone would choose others
    ordering.SHARED_LANES = 8
    for key in FAMILIES:
        params = {**get_generator_class(key)._fast_params(), "n_threads": 1, "random_state": 0}
        if key == "transformer":  # each rank counts its own rows' tokens for the order
            params["column_order"] = "auto"
        model = fit_parts(sg.make_generator(key, **params), folder)
        model.save(out / f"{key}-{rank}.sgm")
        record[key] = {"n_train_rows": model.n_train_rows_, "epochs": model.n_epochs_}
    ParquetParts.read = read
    refused = []
    bad = folder.parent / "bad"  # a part with a different column type: every rank refuses it
    try:
        fit_parts(sg.make_generator("vae", random_state=0), bad)
    except SynthgenError as err:
        refused.append(f"{type(err).__name__}: {err}")
    few = folder.parent / "few"  # one row group for two processes
    try:
        fit_parts(sg.make_generator("vae", random_state=0), few)
    except SynthgenError as err:
        refused.append(f"{type(err).__name__}: {err}")
    try:  # a schema of other columns, refused on rank 0 alone: every rank stops
        schema = sg.Schema.infer(pd.DataFrame({"other": [1.0, 2.0, 3.0]}))
        fit_parts(sg.make_generator("vae", random_state=0), folder, schema=schema)
    except SynthgenError as err:
        refused.append(f"{type(err).__name__}: {err}")
    record["refused"] = refused
    (out / f"record-{rank}.json").write_text(json.dumps(record))
    tdist.barrier()  # as synthgen's own finish(): no rank tears gloo down with work in flight
    tdist.destroy_process_group()


if __name__ == "__main__":
    from synthgen.training.distributed import exit_worker

    main(Path(sys.argv[1]), Path(sys.argv[2]))
    exit_worker()  # no finalisation: a gloo worker's normal exit aborts now and then
