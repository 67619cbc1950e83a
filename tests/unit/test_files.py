"""Every file synthgen writes appears whole or not at all (issue 21, finding 4)."""

import os
import signal
import subprocess
import sys
import textwrap
import time

import numpy as np
import pandas as pd
import pytest

import synthgen as sg
from synthgen.exceptions import PersistenceError
from synthgen.files import atomic_open, atomic_write, check_output_path
from synthgen.tabular_io import read_table, write_table


def _names(folder):
    return sorted(p.name for p in folder.iterdir())


def test_atomic_write_replaces_the_file_whole(tmp_path):
    path = tmp_path / "a.txt"
    atomic_write(path, "old")
    atomic_write(path, "new")
    assert path.read_text() == "new" and _names(tmp_path) == ["a.txt"]


def test_a_failed_write_leaves_the_old_file_and_no_temporary(tmp_path):
    path = tmp_path / "a.bin"
    atomic_write(path, b"good")
    for error in (RuntimeError("boom"), KeyboardInterrupt()):
        with pytest.raises(type(error)), atomic_open(path, "wb") as fh:
            fh.write(b"half")
            raise error
    assert path.read_bytes() == b"good" and _names(tmp_path) == ["a.bin"]


def test_a_full_disk_is_a_persistence_error_and_keeps_the_old_file(tmp_path, monkeypatch):
    path = tmp_path / "a.bin"
    atomic_write(path, b"good")

    def full(fd):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "fsync", full)
    with pytest.raises(PersistenceError, match=r"No space left on device.*left as it was"):
        atomic_write(path, b"new content")
    assert path.read_bytes() == b"good" and _names(tmp_path) == ["a.bin"]


def test_the_new_file_gets_ordinary_permissions(tmp_path):
    path = tmp_path / "a.txt"
    atomic_write(path, "x")
    mask = os.umask(0)
    os.umask(mask)
    assert path.stat().st_mode & 0o777 == 0o666 & ~mask
    path.chmod(0o600)
    atomic_write(path, "y")  # replacing keeps the file's own permissions
    assert path.stat().st_mode & 0o777 == 0o600


def test_output_paths_are_checked(tmp_path):
    with pytest.raises(PersistenceError, match=r"folder .* does not exist"):
        check_output_path(tmp_path / "missing" / "x.csv")
    with pytest.raises(PersistenceError, match="it is a folder"):
        check_output_path(tmp_path)
    (tmp_path / "file").write_text("")
    with pytest.raises(PersistenceError, match="is not a folder"):
        check_output_path(tmp_path / "file" / "x.csv")


def test_tables_are_written_atomically(tmp_path, monkeypatch):
    path = tmp_path / "t.csv"
    good = pd.DataFrame({"a": range(5)})
    write_table(good, path)

    def interrupted(self, *args, **kwargs):
        handle = args[0]
        handle.write(b"a\n1\n")  # part of the rows, then Ctrl-C
        raise KeyboardInterrupt

    monkeypatch.setattr(pd.DataFrame, "to_csv", interrupted)
    with pytest.raises(KeyboardInterrupt):
        write_table(pd.DataFrame({"a": range(1000)}), path)
    monkeypatch.undo()
    pd.testing.assert_frame_equal(read_table(path), good)
    assert _names(tmp_path) == ["t.csv"]


def test_schema_and_report_writers_are_atomic(tmp_path, monkeypatch):
    schema = sg.Schema.infer(pd.DataFrame({"a": [1.5, 2.5, 3.5, 4.5, 5.5, 6.5]}))
    path = tmp_path / "s.json"
    schema.to_json(path)
    before = path.read_text()
    monkeypatch.setattr(os, "replace", lambda *a: (_ for _ in ()).throw(OSError(5, "I/O error")))
    with pytest.raises(PersistenceError, match="I/O error"):
        schema.to_json(path)
    assert path.read_text() == before and _names(tmp_path) == ["s.json"]


# -- killed processes ---------------------------------------------------------------------------
# One child imports synthgen once and forks a writer per attempt; the writer loops over writes
# of two different versions of the target and is killed (SIGKILL) after a random short delay.
_CHILD = textwrap.dedent(
    """
    import os, sys
    import synthgen as sg
    from synthgen.tabular_io import write_table

    kind, target = sys.argv[1], sys.argv[2]
    versions = [sg.load(p) for p in sys.argv[3:]]
    if kind == "table":
        versions = [m.sample(n, random_state=0) for m, n in zip(versions, (200, 3000))]
    data = sg.datasets.load_adult().head(300)
    print("ready", flush=True)
    for line in sys.stdin:
        pid = os.fork()
        if pid == 0:
            i = 0
            while True:
                v = versions[i % 2]
                if kind == "model":
                    v.save(target)
                elif kind == "table":
                    write_table(v, target)
                else:
                    sg.export(data, output=target, force=True, random_state=i % 2)
                i += 1
        print(pid, flush=True)
        os.waitpid(pid, 0)
        print("done", flush=True)
    """
)


def _kill_loop(kind, target, model_paths, check, attempts, tmp_path, longest=0.4):
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": os.getcwd()}
    child = subprocess.Popen(
        [sys.executable, "-c", _CHILD, kind, str(target), *map(str, model_paths)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        assert child.stdout.readline().strip() == "ready"
        rng = np.random.default_rng(0)
        for _ in range(attempts):
            child.stdin.write("go\n")
            child.stdin.flush()
            pid = int(child.stdout.readline())
            time.sleep(float(rng.uniform(0.0, longest)))
            os.kill(pid, signal.SIGKILL)
            assert child.stdout.readline().strip() == "done"
            check(target)  # the old file or a new complete one, never a damaged one
    finally:
        child.kill()
        child.wait()


@pytest.fixture(scope="module")
def two_models(tmp_path_factory, adult):
    folder = tmp_path_factory.mktemp("models")
    paths = []
    for key in ("copula", "marginals"):
        path = folder / f"{key}.sgm"
        sg.make_generator(key, random_state=0).fit(adult.head(300)).save(path)
        paths.append(path)
    return paths


def test_killing_a_save_never_damages_the_model_file(tmp_path, two_models):
    target = tmp_path / "m.sgm"
    sg.load(two_models[0]).save(target)  # a good model is there before

    def check(path):
        assert sg.load(path).key in ("copula", "marginals")

    _kill_loop("model", target, two_models, check, 6, tmp_path)


def test_killing_sample_output_never_leaves_a_truncated_table(tmp_path, two_models):
    target = tmp_path / "out.csv"
    expected = [
        sg.load(p).sample(n, random_state=0) for p, n in zip(two_models, (200, 3000), strict=True)
    ]
    write_table(expected[0], target)

    def check(path):
        frame = read_table(path)
        assert len(frame) in (200, 3000), f"a truncated table of {len(frame)} rows"
        want = read_table_like(expected[0 if len(frame) == 200 else 1], tmp_path)
        pd.testing.assert_frame_equal(frame, want)

    _kill_loop("table", target, two_models, check, 6, tmp_path)


def test_killing_an_export_never_leaves_a_partial_table(tmp_path, two_models):
    target = tmp_path / "synthetic.csv"
    sg.export(sg.datasets.load_adult().head(300), output=target, force=True)

    def check(path):
        frame = read_table(path)
        assert frame.shape == (240, 15), f"a partial table of shape {frame.shape}"

    _kill_loop("export", target, two_models, check, 4, tmp_path, longest=4.0)


def read_table_like(frame, folder):
    """``frame`` as it reads back from a CSV (dtypes as the reader infers them)."""
    path = folder / "reference.csv"
    write_table(frame, path)
    out = read_table(path)
    path.unlink()
    return out
