"""Whether mixed precision pays off on this machine (read from the hardware, not timed)."""

from __future__ import annotations

import functools

__all__ = ["cpu_has_fast_bfloat16"]


@functools.cache
def cpu_has_fast_bfloat16() -> bool:
    """Whether this CPU computes bfloat16 natively (x86 AVX512-BF16 or AMX-BF16 on Linux).

    Read from the CPU's feature flags, not timed, so the answer (and with it a fit's numbers)
    does not depend on the machine's load. Other platforms answer ``False`` (float32 kept).

    Examples
    --------
    >>> isinstance(cpu_has_fast_bfloat16(), bool)
    True
    """
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as fh:
            for line in fh:
                if line.startswith("flags"):
                    flags = set(line.split(":", 1)[1].split())
                    return bool(flags & {"avx512_bf16", "amx_bf16"})
    except OSError:
        return False
    return False
