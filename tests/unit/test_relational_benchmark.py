"""The linked-table benchmark: arguments, unsupported pairs, peer time-outs, a quick run."""

from __future__ import annotations

import json
import stat
import sys

import numpy as np
import pandas as pd
import pytest

from benchmarks import relational
from synthgen.schema.metadata import Metadata

CDNOW = Metadata.from_dict({"version": 1, **relational.DATASETS["cdnow"]})


def tiny_cdnow(folder, n_users=120, seed=0):
    """A tiny stand-in for ../shared/data/cdnow, written as the real files are."""
    rng = np.random.default_rng(seed)
    counts = rng.integers(1, 5, n_users)
    users_id = np.repeat(np.arange(1, n_users + 1), counts)
    day = np.concatenate([np.sort(rng.integers(0, 300, c)) for c in counts])
    purchases = pd.DataFrame(
        {
            "users_id": users_id,
            "date": (pd.Timestamp("1997-01-01") + pd.to_timedelta(day, "D")).strftime("%Y-%m-%d"),
            "cds": rng.integers(1, 4, len(day)),
            "amt": np.round(rng.gamma(2.0, 8.0, len(day)), 2),
        }
    )
    (folder / "cdnow").mkdir(parents=True)
    pd.DataFrame({"id": np.arange(1, n_users + 1)}).to_csv(
        folder / "cdnow/users.csv.gz", index=False
    )
    purchases.to_csv(folder / "cdnow/purchases.csv.gz", index=False)


def fake_python(tmp_path, body: str):
    """An executable standing in for a peer's Python: runs ``body`` with ``out`` set to the
    --output folder."""
    path = tmp_path / "fakepy"
    path.write_text(
        f"#!{sys.executable}\n"
        "import sys, time, json, pathlib\n"
        "out = pathlib.Path(sys.argv[sys.argv.index('--output') + 1])\n" + body
    )
    path.chmod(path.stat().st_mode | stat.S_IEXEC)
    return str(path)


def test_cli_rejects_unknown_names_and_bad_json(capsys):
    with pytest.raises(SystemExit):
        relational.main(["--datasets", "nosuch"])
    assert "unknown dataset(s) ['nosuch']" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        relational.main(["--generators", "nosuch_model"])
    assert "generator(s) ['nosuch_model']" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        relational.main(["--peer-options", "{not json"])
    assert "bad --params" in capsys.readouterr().err


def test_sequence_peers_are_skipped_on_several_child_tables():
    baseball = Metadata.from_dict({"version": 1, **relational.DATASETS["baseball"]})
    assert relational.supports("sdv_par", baseball) is not None
    assert relational.supports("mostlyai_context", baseball) is not None
    assert relational.supports("sdv_par", CDNOW) is None
    assert relational.supports("sdv_hma", baseball) is None


def _train():
    return {
        "users": pd.DataFrame({"id": [1, 2]}),
        "purchases": pd.DataFrame(
            {"users_id": [1, 2], "date": ["1997-01-01", "1997-02-01"], "cds": [1, 2],
             "amt": [3.0, 4.0]}
        ),
    }  # fmt: skip


def test_peer_timeout_is_reported_with_the_fit_time(tmp_path, monkeypatch):
    body = "(out / 'timing.json').write_text(json.dumps({'fit_s': 1.5}))\ntime.sleep(30)\n"
    monkeypatch.setenv("SYNTHGEN_PEER_SDV_PYTHON", fake_python(tmp_path, body))
    tables, timing, status, _ = relational.run_peer(
        "sdv_par", _train(), CDNOW, 0, False, {}, timeout=2
    )
    assert status == "timeout" and tables is None and timing["fit_s"] == 1.5


def test_crashing_peer_raises_with_its_message(tmp_path, monkeypatch):
    body = "sys.stderr.write('peer exploded')\nsys.exit(3)\n"
    monkeypatch.setenv("SYNTHGEN_PEER_SDV_PYTHON", fake_python(tmp_path, body))
    with pytest.raises(RuntimeError, match="exited with 3: peer exploded"):
        relational.run_peer("sdv_par", _train(), CDNOW, 0, False, {}, timeout=30)


def test_quick_run_with_the_reference_writes_results(tmp_path, monkeypatch):
    tiny_cdnow(tmp_path / "data")
    monkeypatch.setenv("SYNTHGEN_DATA", str(tmp_path / "data"))  # read by the child process
    out = tmp_path / "out"
    argv = ["--datasets", "cdnow", "--generators", "holdout", "--quick"]
    argv += ["--output", str(out), "--threads", "1", "--timeout", "120"]
    assert relational.main(argv) == 0
    results = json.loads(next(out.glob("results-*.json")).read_text())
    (ref,) = results
    assert ref["status"] == "ok", ref.get("traceback")
    assert ref["fk_resolution"] == 1.0 and ref["sequences_in_order"] == 1.0
    assert 0.0 < ref["cardinality_shape"] <= 1.0
    table = (out / "latest.md").read_text()
    assert "| cdnow | holdout | 1 |" in table
    assert (out / "reports" / "cdnow-holdout-seed0.html").exists()
