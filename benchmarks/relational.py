"""Linked-table benchmark: generators x datasets x seeds -> JSON, a Markdown table, reports.

Protocol (``../shared/data/README.md``, per subject): shuffle the subject table's keys with the
seed, the first 80% of subjects with all their child rows is train, the rest holdout
(:func:`synthgen.evaluation.relational.split_subjects`); fit on train, sample as many subjects
as train holds (``scale=1.0``), evaluate with
:func:`synthgen.evaluation.relational.evaluate_tables` (fidelity against train, subject
detection against the holdout, subject DCR train vs holdout).

Usage::

    python -m benchmarks relational --datasets baseball,cdnow \\
        --generators synthgen_transformer,synthgen_copula,sdv_hma,sdv_par,mostlyai_context \\
        --seeds 0 --threads 1 --output DIR
    python -m benchmarks relational --quick ...     # 2,000 subjects, 1-2 peer epochs

Generators: ``synthgen_<key>`` (:class:`synthgen.relational.RelationalSynthesizer` with that
single-table generator), the peers of :data:`PEERS` (each in its own virtual environment, run
as a child process with the time limit), and ``holdout``: a reference row where half of the
holdout subjects play the synthetic data and the other half the holdout (what real, unseen
subjects score). Every pair runs in a child process with ``--timeout`` seconds: a crash or a
time-out is recorded (with the fit seconds when the fit had ended), and the run goes on.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import tempfile
import time
import traceback
import warnings
from pathlib import Path
from typing import Any

from benchmarks.child import run_in_child
from benchmarks.datasets import DATA_DIR
from benchmarks.run import markdown_table

RESULTS = Path(__file__).resolve().parent / "results" / "relational"
SCRIPTS = Path(__file__).resolve().parent / "peer_scripts"

#: name -> (folder under the data directory, tables, metadata as synthgen's JSON layout)
DATASETS: dict[str, dict[str, Any]] = {
    "baseball": {
        "tables": [
            {"name": "players", "primary_key": "id", "sequence_key": None},
            {"name": "batting", "primary_key": None, "sequence_key": "year"},
            {"name": "fielding", "primary_key": None, "sequence_key": "year"},
        ],
        "foreign_keys": [
            {
                "child": "batting",
                "column": "players_id",
                "parent": "players",
                "parent_column": "id",
            },
            {
                "child": "fielding",
                "column": "players_id",
                "parent": "players",
                "parent_column": "id",
            },
        ],
    },
    "cdnow": {
        "tables": [
            {"name": "users", "primary_key": "id", "sequence_key": None},
            {"name": "purchases", "primary_key": None, "sequence_key": "date"},
        ],
        "foreign_keys": [
            {"child": "purchases", "column": "users_id", "parent": "users", "parent_column": "id"}
        ],
    },
}

#: peer -> (environment variable with its Python, default Python, script, model); a peer runs
#: when the variable is set or the default Python exists.
PEERS: dict[str, tuple[str, str, str, str]] = {
    "sdv_hma": ("SYNTHGEN_PEER_SDV_PYTHON", "/opt/peers/sdv/bin/python",
                "sdv_relational_peer.py", "hma"),
    "sdv_par": ("SYNTHGEN_PEER_SDV_PYTHON", "/opt/peers/sdv/bin/python",
                "sdv_relational_peer.py", "par"),
    "mostlyai_context": ("SYNTHGEN_PEER_MOSTLYAI_PYTHON", "/opt/peers/mostlyai/bin/python",
                         "mostlyai_relational_peer.py", "context"),
}  # fmt: skip
#: peers that model one subject table with one sequence table only
ONE_SEQUENCE = {"sdv_par", "mostlyai_context"}
REFERENCE = "holdout"
ALL_GENERATORS = [
    "synthgen_transformer", "synthgen_copula", "sdv_hma", "sdv_par", "mostlyai_context",
    REFERENCE,
]  # fmt: skip
#: summary figures shown in the Markdown table, in order
TABLE_METRICS = [
    "table_quality",
    "cardinality_shape",
    "parent_child_trends",
    "sequence_length",
    "inter_event_gap",
    "sequences_in_order",
    "fk_resolution",
    "duplicate_primary_keys",
    "subject_detection_auc",
    "subject_dcr_share",
]
QUICK_SUBJECTS = 2000
#: seconds the evaluation of one pair may take on top of the generator's time limit
EVALUATION_TIMEOUT = 600.0


def load_tables(name: str):
    """The tables and metadata of a benchmark dataset (CSV files as pandas reads them)."""
    import pandas as pd

    from synthgen.schema.metadata import Metadata

    if name not in DATASETS:
        raise SystemExit(f"unknown dataset {name!r}; known: {sorted(DATASETS)}")
    spec = DATASETS[name]
    meta = Metadata.from_dict({"version": 1, **spec})
    tables = {t: pd.read_csv(DATA_DIR / name / f"{t}.csv.gz") for t in meta.tables}
    return tables, meta


def known(generator: str) -> bool:
    """Whether ``generator`` names a peer, the reference or a synthgen generator."""
    return generator in PEERS or generator == REFERENCE or generator.startswith("synthgen_")


def supports(generator: str, metadata) -> str | None:
    """Why ``generator`` cannot model these tables (``None`` when it can).

    Examples
    --------
    >>> from synthgen.schema.metadata import Metadata
    >>> supports("sdv_par", Metadata.from_dict({"version": 1, **DATASETS["baseball"]}))
    'models one subject table with one sequence table only'
    """
    if generator in ONE_SEQUENCE and (len(metadata.tables) != 2 or len(metadata.foreign_keys) != 1):
        return "models one subject table with one sequence table only"
    return None if known(generator) else "unknown generator"


def peer_python(generator: str) -> str:
    var, default, _, _ = PEERS[generator]
    python = os.environ.get(var) or (default if Path(default).exists() else "")
    if not python:
        raise RuntimeError(f"peer {generator!r} is not configured: set {var} to its Python")
    return python


def run_peer(generator, train, metadata, seed, quick, options, timeout):
    """Fit and sample a peer in its own environment; returns (tables, timing, status, peak MB)."""
    import pandas as pd

    _, _, script, model = PEERS[generator]
    with tempfile.TemporaryDirectory(prefix="relbench_") as tmp:
        src, out = Path(tmp, "in"), Path(tmp, "out")
        src.mkdir()
        out.mkdir()
        metadata.to_json(src / "metadata.json")
        for name, frame in train.items():
            frame.to_parquet(src / f"{name}.parquet", index=False)
        cmd = [peer_python(generator), str(SCRIPTS / script), "--model", model]
        cmd += ["--input", str(src), "--output", str(out), "--seed", str(seed)]
        cmd += ["--options", json.dumps(options)] + (["--quick"] if quick else [])
        status = "ok"
        try:
            proc = subprocess.run(cmd, timeout=timeout, capture_output=True, text=True)
            if proc.returncode != 0:
                raise RuntimeError(f"peer exited with {proc.returncode}: {proc.stderr[-2000:]}")
        except subprocess.TimeoutExpired:
            status = "timeout"
        peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
        timing_file = out / "timing.json"
        timing = json.loads(timing_file.read_text()) if timing_file.exists() else {}
        tables = None
        if status == "ok":
            tables = {n: pd.read_parquet(out / f"{n}.parquet") for n in metadata.tables}
        return tables, timing, status, peak


def _generate(generator, train, holdout, metadata, seed, quick, params, options, timeout, threads):
    """Synthetic tables of one generator: (tables or None, result fields)."""
    from synthgen.evaluation.relational import split_subjects

    if generator == REFERENCE:
        fake, rest = split_subjects(holdout, metadata, frac=0.5, random_state=seed)
        return fake, {"fit_s": 0.0, "sample_s": 0.0, "holdout": rest}
    if generator in PEERS:
        tables, timing, status, peak = run_peer(
            generator, train, metadata, seed, quick, options, timeout
        )
        fields = {"fit_s": timing.get("fit_s"), "sample_s": timing.get("sample_s")}
        fields.update(status=status, peak_mb=round(peak), params=timing.get("params"))
        if status == "timeout":
            fields["error"] = f"no result within {timeout:.0f} s" + (
                f" (fit done in {timing['fit_s']:.0f} s)" if "fit_s" in timing else ""
            )
        return tables, fields
    import synthgen as sg
    from synthgen.relational import RelationalSynthesizer

    key = generator.removeprefix("synthgen_")
    params = dict(params or {})
    if threads and "n_threads" in sg.make_generator(key).get_params():
        params.setdefault("n_threads", threads)  # neural generators limit torch themselves
    model = RelationalSynthesizer(generator=key, generator_params=params or None, random_state=seed)
    t0 = time.perf_counter()
    model.fit(train, metadata)
    fit_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    tables = model.sample(scale=1.0)
    sample_s = time.perf_counter() - t0
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return tables, {"fit_s": fit_s, "sample_s": sample_s, "peak_mb": round(peak)}


def _child(
    generator, dataset, seed, quick, subjects, params, options, timeout, threads, out, queue
):
    warnings.simplefilter("ignore")
    if threads:
        import torch

        torch.set_num_threads(threads)
    try:
        from synthgen.evaluation.relational import evaluate_tables, split_subjects

        tables, metadata = load_tables(dataset)
        why = supports(generator, metadata)
        if why:
            queue.put({"status": "unsupported", "error": why})
            return
        if quick and not subjects:
            subjects = QUICK_SUBJECTS
        root = metadata.roots()[0]
        if subjects and subjects < len(tables[root]):
            # a seeded sample of whole subjects, before the protocol's split
            frac = subjects / len(tables[root])
            tables, _ = split_subjects(tables, metadata, frac=frac, random_state=seed)
        train, holdout = split_subjects(tables, metadata, random_state=seed)
        synthetic, fields = _generate(
            generator, train, holdout, metadata, seed, quick, params, options, timeout, threads
        )
        reference = fields.pop("holdout", holdout)
        result = {"status": "ok", **fields}
        if synthetic is not None:
            t0 = time.perf_counter()
            report = evaluate_tables(
                train, synthetic, metadata, holdout=reference, random_state=seed,
                generator=generator, data_name=dataset,
            )  # fmt: skip
            result["evaluate_s"] = round(time.perf_counter() - t0, 2)
            result.update(report.summary())
            result["rows"] = {t: len(f) for t, f in synthetic.items()}
            stem = out / "reports" / f"{dataset}-{generator}-seed{seed}"
            stem.parent.mkdir(parents=True, exist_ok=True)
            report.to_json(stem.with_suffix(".json"))
            report.to_html(stem.with_suffix(".html"))
        for key in ("fit_s", "sample_s"):
            if result.get(key) is not None:
                result[key] = round(float(result[key]), 2)
    except Exception as err:  # a crashed pair is recorded, not fatal
        result = {"status": "error", "error": f"{type(err).__name__}: {err}"}
        result["traceback"] = traceback.format_exc(limit=5)
    queue.put(result)


def run_pair(
    generator: str,
    dataset: str,
    seed: int,
    *,
    quick: bool = False,
    subjects: int | None = None,
    params: dict[str, Any] | None = None,
    options: dict[str, Any] | None = None,
    timeout: float = 3600.0,
    threads: int | None = None,
    output: Path = RESULTS,
) -> dict[str, Any]:
    """Run one (generator, dataset, seed) in a child process; never raises.

    ``timeout`` bounds the generator's fit and sample (a peer is stopped when it runs out);
    the evaluation gets :data:`EVALUATION_TIMEOUT` seconds more before the child process is
    stopped too. ``subjects`` evaluates a seeded sample of that many subjects (``quick``: 2,000,
    and the peers' fewest epochs).
    """
    args = (generator, dataset, seed, quick, subjects, params or {}, options or {}, timeout,
            threads, Path(output))  # fmt: skip
    result = run_in_child(_child, args, timeout + EVALUATION_TIMEOUT, threads)
    result.update(generator=generator, dataset=dataset, seed=seed)
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks relational")
    parser.add_argument("--generators", default=",".join(ALL_GENERATORS))
    parser.add_argument("--datasets", default="baseball,cdnow")
    parser.add_argument("--seeds", default="0")
    parser.add_argument("--timeout", type=float, default=3600.0, help="fit+sample seconds per pair")
    parser.add_argument(
        "--quick", action="store_true", help=f"{QUICK_SUBJECTS} subjects, fewest peer epochs"
    )
    parser.add_argument("--subjects", type=int, default=None, help="a sample of N subjects")
    parser.add_argument("--threads", type=int, default=None, help="CPU threads per pair")
    parser.add_argument("--output", default=str(RESULTS))
    parser.add_argument("--params", default="{}", help="JSON generator_params of synthgen")
    parser.add_argument(
        "--peer-options", default="{}", help='peer options (JSON), e.g. {"epochs": 16}'
    )
    args = parser.parse_args(argv)
    try:
        params, options = json.loads(args.params), json.loads(args.peer_options)
        seeds = [int(s) for s in args.seeds.split(",")]
    except ValueError as err:
        parser.error(f"bad --params, --peer-options or --seeds: {err}")
    generators = [g for g in args.generators.split(",") if g]
    datasets = [d for d in args.datasets.split(",") if d]
    unknown = [d for d in datasets if d not in DATASETS]
    bad = [g for g in generators if not known(g)]
    if unknown or bad:
        parser.error(f"unknown dataset(s) {unknown} or generator(s) {bad}")
    out = Path(args.output)
    out.mkdir(parents=True, exist_ok=True)
    from synthgen.schema.metadata import Metadata

    results = []
    for dataset in datasets:
        meta = Metadata.from_dict({"version": 1, **DATASETS[dataset]})
        for generator in generators:
            why = supports(generator, meta)
            if why:
                print(f"{generator:>22} {dataset:>9}: skipped, {why}", flush=True)
                continue
            for seed in seeds:
                res = run_pair(generator, dataset, seed, quick=args.quick, params=params,
                               subjects=args.subjects,
                               options=options, timeout=args.timeout, threads=args.threads,
                               output=out)  # fmt: skip
                results.append(res)
                brief = {k: res.get(k) for k in ["status", "fit_s", "sample_s", *TABLE_METRICS]}
                print(f"{generator:>22} {dataset:>9} seed {seed}: {brief}", flush=True)
    from synthgen.files import atomic_write

    stamp = time.strftime("%Y%m%d-%H%M%S")
    atomic_write(out / f"results-{stamp}.json", json.dumps(results, indent=2))
    table = markdown_table(results, TABLE_METRICS)
    command = "python -m benchmarks relational " + " ".join(argv or [])
    atomic_write(out / "latest.md", f"Command: `{command.strip()}`\n\n{table}\n")
    print(table)
    return 0
