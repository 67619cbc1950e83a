"""A short check of the CUDA paths of every neural generator, with GPU timings.

Run on a machine with a GPU (no sdmetrics or opacus needed)::

    python -m benchmarks.gpu_check --out gpu.json [--epochs-scale 0.25]

For each neural generator: fit on Adult's seed-0 training split on ``cuda`` (bfloat16 autocast
where the GPU has it), sample ``len(train)`` rows, fit again with the same seed and compare
the saved weights (repeatability on the GPU), save, load on the CPU and sample there, and a
conditional draw on the GPU. Epochs are the defaults times ``--epochs-scale`` (per-epoch
times are reported, so full fits can be extrapolated). A DP-SGD fit runs too when opacus is
installed. Prints one JSON line per generator and writes them all to ``--out``.
"""

from __future__ import annotations

import argparse
import io
import json
import tempfile
import time
import zipfile
from pathlib import Path
from typing import Any

FITS: dict[str, dict[str, Any]] = {
    "transformer": {},
    "vae": {},
    "gan": {},
    "diffusion": {},
}


def _sync(device: str) -> None:
    import torch

    if device.startswith("cuda"):
        torch.cuda.synchronize()


def _weights(path: Path) -> bytes:
    with zipfile.ZipFile(path) as zf:
        return zf.read("weights.safetensors")


def _check(key: str, train, scale: float, tmp: Path, device: str) -> dict[str, Any]:
    import torch

    import synthgen as sg
    from synthgen.generators import get_generator_class

    cls = get_generator_class(key)
    default_epochs = cls().get_params()["epochs"]
    params: dict[str, Any] = {"device": device, "random_state": 0}
    if default_epochs != "auto":
        params["epochs"] = max(1, round(default_epochs * scale))
    else:
        params["epochs"] = max(1, round(cls().planned_epochs(len(train)) * scale))
    out: dict[str, Any] = {"generator": key, "epochs": params["epochs"]}
    _sync(device)
    start = time.perf_counter()
    model = sg.make_generator(key, **params).fit(train)
    _sync(device)
    out["fit_s"] = round(time.perf_counter() - start, 2)
    out["s_per_epoch"] = round(out["fit_s"] / max(model.n_epochs_, 1), 4)
    out["stop_reason"] = model.stop_reason_
    out["device"] = str(model.device_)
    start = time.perf_counter()
    rows = model.sample(len(train), random_state=1)
    _sync(device)
    out["sample_s"] = round(time.perf_counter() - start, 2)
    out["sample_ok"] = bool(list(rows.columns) == list(train.columns) and len(rows) == len(train))
    first, second = tmp / f"{key}-1.sgm", tmp / f"{key}-2.sgm"
    model.save(first)
    sg.make_generator(key, **params).fit(train).save(second)
    out["repeatable_weights"] = _weights(first) == _weights(second)
    on_cpu = sg.load(first, device="cpu")
    cpu_rows = on_cpu.sample(500, random_state=2)
    out["loads_on_cpu"] = bool(len(cpu_rows) == 500 and str(on_cpu.device_) == "cpu")
    label = train["sex"].iloc[0]
    given = model.sample(200, conditions={"sex": label}, random_state=3)
    out["conditions_met"] = bool((given["sex"] == label).all())
    if device.startswith("cuda"):
        out["max_memory_mb"] = round(torch.cuda.max_memory_allocated() / 2**20, 1)
        torch.cuda.reset_peak_memory_stats()
    return out


def _dp_check(train, device: str) -> dict[str, Any]:
    import synthgen as sg

    start = time.perf_counter()
    model = sg.make_generator(
        "vae",
        device=device,
        epsilon=3.0,
        epochs=2,
        hidden=(128, 128),
        batch_size=500,
        random_state=0,
    ).fit(train)
    return {
        "generator": "vae (DP-SGD, epsilon 3, 2 epochs)",
        "fit_s": round(time.perf_counter() - start, 2),
        "epsilon_spent": model.epsilon_,
        "sample_ok": len(model.sample(100, random_state=1)) == 100,
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="gpu_check.json")
    parser.add_argument("--epochs-scale", type=float, default=0.25)
    parser.add_argument("--generators", default=",".join(FITS))
    parser.add_argument("--device", default="cuda", help="cpu only to try the script itself")
    args = parser.parse_args(argv)
    import torch

    import synthgen as sg

    if args.device.startswith("cuda") and not torch.cuda.is_available():
        raise SystemExit("no CUDA device")
    # The protocol's split (seed 0, first 80%), without importing the evaluators (sdmetrics).
    data = sg.datasets.load_adult().sample(frac=1.0, random_state=0).reset_index(drop=True)
    train = data.iloc[: round(0.8 * len(data))].reset_index(drop=True)
    gpu = torch.cuda.get_device_name() if args.device.startswith("cuda") else None
    results: list[dict[str, Any]] = [{"gpu": gpu, "torch": torch.__version__}]
    with tempfile.TemporaryDirectory() as tmp:
        for key in args.generators.split(","):
            try:
                row = _check(key, train, args.epochs_scale, Path(tmp), args.device)
            except Exception as err:  # report and go on: one failure must not hide the rest
                row = {"generator": key, "error": f"{type(err).__name__}: {err}"}
            print(json.dumps(row), flush=True)
            results.append(row)
        try:
            import opacus  # noqa: F401

            row = _dp_check(train, args.device)
        except ImportError:
            row = {"generator": "vae (DP-SGD)", "skipped": "opacus is not installed"}
        except Exception as err:
            row = {"generator": "vae (DP-SGD)", "error": f"{type(err).__name__}: {err}"}
        print(json.dumps(row), flush=True)
        results.append(row)
    buf = io.StringIO()
    json.dump(results, buf, indent=2)
    Path(args.out).write_text(buf.getvalue(), encoding="utf-8")


if __name__ == "__main__":
    main()
