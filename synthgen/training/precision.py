"""Whether mixed precision pays off on this machine (read from the hardware, not timed)."""

from __future__ import annotations

import functools

__all__ = ["autocast_dtype", "cpu_has_fast_bfloat16", "float32", "native_bfloat16"]


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


def native_bfloat16(device, *, cpu: bool = True) -> bool:
    """Whether ``device`` (a ``torch.device``) computes bfloat16 natively: a CUDA device that
    supports it, or (when ``cpu``) a CPU with AVX512-BF16 or AMX. Training autocasts there
    (:attr:`synthgen.training.Trainer.amp_enabled`) and the transformer decodes there.

    Examples
    --------
    >>> import torch
    >>> native_bfloat16(torch.device("cpu")) == cpu_has_fast_bfloat16()
    True
    >>> native_bfloat16(torch.device("cpu"), cpu=False)
    False
    """
    if device.type == "cuda":
        import torch

        return bool(torch.cuda.is_bf16_supported())
    return cpu and device.type == "cpu" and cpu_has_fast_bfloat16()


def autocast_dtype(device_type: str):
    """The dtype autocast computes in on ``device_type`` now, or ``None`` outside autocast.

    Examples
    --------
    >>> import torch
    >>> autocast_dtype("cpu") is None
    True
    >>> with torch.autocast("cpu", dtype=torch.bfloat16):
    ...     autocast_dtype("cpu")
    torch.bfloat16
    """
    import torch  # this module is read without torch (the CLI's start-up)

    if hasattr(torch, "get_autocast_dtype"):  # torch >= 2.4
        enabled = torch.is_autocast_enabled(device_type)
        return torch.get_autocast_dtype(device_type) if enabled else None
    if device_type == "cpu":
        return torch.get_autocast_cpu_dtype() if torch.is_autocast_cpu_enabled() else None
    return torch.get_autocast_gpu_dtype() if torch.is_autocast_enabled() else None


def float32(device_type: str):
    """A context that turns autocast off on ``device_type`` (``"cpu"``, ``"cuda"``, ...):
    the layers a model keeps in float32 inside a mixed-precision fit.

    Examples
    --------
    >>> import torch
    >>> with torch.autocast("cpu", dtype=torch.bfloat16), float32("cpu"):
    ...     autocast_dtype("cpu") is None
    True
    """
    import torch

    return torch.autocast(device_type, enabled=False)
