"""A CPU fit keeps its freed memory for the next step (glibc's heap thresholds)."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from synthgen.training import heap
from synthgen.training.heap import reuse_freed_memory


class _FakeLibc:
    def __init__(self) -> None:
        self.calls: list[tuple] = []

    def mallopt(self, option: int, value: int) -> int:
        self.calls.append(("mallopt", option, value))
        return 1

    def malloc_trim(self, pad: int) -> int:
        self.calls.append(("malloc_trim", pad))
        return 1


def test_the_thresholds_are_set_once_for_nested_uses_and_reset_after(monkeypatch) -> None:
    libc = _FakeLibc()
    monkeypatch.setattr(heap, "_glibc", lambda: libc)
    monkeypatch.delenv("SYNTHGEN_HEAP_TUNING", raising=False)
    with reuse_freed_memory() as outer:
        with reuse_freed_memory() as inner:
            assert outer and inner
            assert libc.calls == [
                ("mallopt", -3, heap.MMAP_THRESHOLD),
                ("mallopt", -1, heap.FIT_TRIM_THRESHOLD),
            ]
        assert len(libc.calls) == 2  # the inner exit leaves the outer's setting alone
    assert libc.calls[2:] == [("mallopt", -1, heap.AFTER_TRIM_THRESHOLD), ("malloc_trim", 0)]


def test_the_environment_or_a_gpu_fit_leaves_the_allocator_alone(monkeypatch) -> None:
    libc = _FakeLibc()
    monkeypatch.setattr(heap, "_glibc", lambda: libc)
    monkeypatch.setenv("SYNTHGEN_HEAP_TUNING", "0")
    with reuse_freed_memory() as tuned:
        assert not tuned
    monkeypatch.delenv("SYNTHGEN_HEAP_TUNING")
    with reuse_freed_memory(enabled=False) as tuned:
        assert not tuned
    assert libc.calls == []


def test_a_failing_block_still_restores_the_thresholds(monkeypatch) -> None:
    libc = _FakeLibc()
    monkeypatch.setattr(heap, "_glibc", lambda: libc)
    monkeypatch.delenv("SYNTHGEN_HEAP_TUNING", raising=False)
    with pytest.raises(RuntimeError), reuse_freed_memory():
        raise RuntimeError("a step failed")
    assert libc.calls[-1] == ("malloc_trim", 0)
    with reuse_freed_memory():  # and the next fit sets them again
        pass
    assert libc.calls.count(("mallopt", -1, heap.FIT_TRIM_THRESHOLD)) == 2


_ROUNDS = """
import ctypes, json, resource, sys
from synthgen.training.heap import reuse_freed_memory

libc = ctypes.CDLL(None)
libc.malloc.restype, libc.malloc.argtypes = ctypes.c_void_p, [ctypes.c_size_t]
libc.free.argtypes = [ctypes.c_void_p]
size = 16 * 1024 * 1024

def faults(rounds):
    # each round allocates, touches and frees 96 MB in 16 MB blocks (a wide step's pattern)
    before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    for _ in range(rounds):
        blocks = [libc.malloc(size) for _ in range(6)]
        for block in blocks:
            ctypes.memset(block, 1, size)
        for block in blocks:
            libc.free(block)
    return resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before

faults(1)
plain = faults(8)
with reuse_freed_memory():
    faults(1)  # the heap grows once
    kept = faults(8)
print(json.dumps({"plain": plain, "kept": kept}))
"""


@pytest.mark.skipif(heap._glibc() is None, reason="glibc's allocator only")
def test_freed_blocks_are_reused_instead_of_fresh_pages() -> None:
    # a fresh process: the allocator in glibc's own dynamic state
    out = subprocess.run(
        [sys.executable, "-c", _ROUNDS], capture_output=True, text=True, check=True, timeout=120
    )
    counts = json.loads(out.stdout)
    # 96 MB a round is 24,576 pages: glibc's own thresholds give them back every round
    assert counts["plain"] > 8 * 12_000
    assert counts["kept"] < counts["plain"] / 8


def test_a_neural_draw_keeps_its_freed_memory_and_gives_it_back_after(monkeypatch) -> None:
    """Sampling a model (one loaded in a fresh process too) allocates the same tensors chunk
    after chunk: the draw keeps freed memory like a fit, and trims it when it is done."""
    import pandas as pd

    import synthgen as sg
    from synthgen.generators.transformer import TabularTransformer

    frame = pd.DataFrame({"x": [float(i % 7) for i in range(60)], "c": ["a", "b", "c"] * 20})
    params = TabularTransformer._fast_params()
    model = sg.make_generator("transformer", random_state=0, **params).fit(frame)
    libc = _FakeLibc()
    monkeypatch.setattr(heap, "_glibc", lambda: libc)
    monkeypatch.delenv("SYNTHGEN_HEAP_TUNING", raising=False)
    model.sample(20, random_state=1)
    assert libc.calls == [
        ("mallopt", -3, heap.MMAP_THRESHOLD),
        ("mallopt", -1, heap.FIT_TRIM_THRESHOLD),
        ("mallopt", -1, heap.AFTER_TRIM_THRESHOLD),
        ("malloc_trim", 0),
    ]
