"""Layers, module building and loading shared by the neural generators.

The output layout of the VAE and the GAN (:class:`SpanLayout`, Gumbel noise) lives in
:mod:`synthgen.generators.layout` and is re-exported here.

Every random draw takes an explicit ``torch.Generator``; modules are created on the ``meta``
device and initialised from that generator, so the process-wide torch RNG is never read.
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np
import torch
from torch import nn

from synthgen.generators.layout import SpanLayout, gumbel_noise, permute_columns

__all__ = [
    "Residual",
    "SpanLayout",
    "build_module",
    "dropout",
    "gumbel_noise",
    "load_module",
    "module_arrays",
    "permute_columns",
    "resolve_saved_device",
    "sample_in_chunks",
]


def dropout(x: torch.Tensor, p: float, generator: torch.Generator, training: bool) -> torch.Tensor:
    """Inverted dropout with an explicit generator (``nn.Dropout`` uses the global RNG).

    At ``p = 0.5`` (the critic's default) each unit's fair coin is one bit of a random integer,
    31 coins per draw: about 3x quicker on a CPU than a uniform number per unit.

    Examples
    --------
    >>> x = torch.ones(4, 1000)
    >>> y = dropout(x, 0.5, torch.Generator().manual_seed(0), training=True)
    >>> sorted(y.unique().tolist()), abs(float(y.mean()) - 1.0) < 0.05
    ([0.0, 2.0], True)
    """
    if not training or p <= 0:
        return x
    if p == 0.5:
        n = x.numel()
        shifts = torch.arange(_COIN_BITS, dtype=torch.int32, device=x.device)
        draws = torch.randint(
            0,
            2**_COIN_BITS,
            (-(-n // _COIN_BITS), 1),
            dtype=torch.int32,
            generator=generator,
            device=x.device,
        )
        keep = ((draws >> shifts) & 1).view(-1)[:n].view(x.shape)
        return x * keep.to(x.dtype).mul_(2.0)
    # The mask carries the scale: one multiplication of x (and of its gradient).
    keep = torch.rand(x.shape, generator=generator, device=x.device) >= p
    return x * keep.to(x.dtype).mul_(1.0 / (1.0 - p))


#: Uniform bits in one ``torch.randint(0, 2**31)`` draw (int32).
_COIN_BITS = 31


class Residual(nn.Module):
    """``Linear -> BatchNorm -> ReLU``, concatenated to its input (CTGAN's generator block)."""

    def __init__(self, i: int, o: int) -> None:
        super().__init__()
        self.fc = nn.Linear(i, o)
        self.bn = nn.BatchNorm1d(o)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.cat([torch.relu(self.bn(self.fc(x))), x], dim=1)


def _init_parameters(module: nn.Module, generator: torch.Generator) -> None:
    """PyTorch's default initialisation, drawn from ``generator``."""
    with torch.no_grad():
        for m in module.modules():
            if isinstance(m, nn.Linear):
                # kaiming_uniform_(a=sqrt(5)) reduces to U(-1/sqrt(fan_in), 1/sqrt(fan_in)).
                bound = 1.0 / math.sqrt(max(m.in_features, 1))
                m.weight.uniform_(-bound, bound, generator=generator)
                if m.bias is not None:
                    m.bias.uniform_(-bound, bound, generator=generator)
            elif isinstance(m, nn.modules.batchnorm._NormBase):
                m.reset_parameters()  # ones, zeros and fresh running statistics: no randomness
            elif isinstance(m, nn.LayerNorm):
                m.reset_parameters()
            if hasattr(m, "reset_own_parameters"):
                m.reset_own_parameters()  # bare nn.Parameters a module owns directly


def build_module(
    factory: Callable[[], nn.Module], device: Any, generator: torch.Generator | None
) -> nn.Module:
    """Create ``factory()`` without touching the global RNG, then initialise it.

    The module is built on the ``meta`` device (no memory, no random init), moved to ``device``
    and, when ``generator`` is given, initialised from it; otherwise left for a state load.
    """
    with torch.device("meta"):
        module = factory()
    module = module.to_empty(device=device)
    if generator is not None:
        _init_parameters(module, generator)
    else:
        for m in module.modules():
            if isinstance(m, nn.modules.batchnorm._NormBase):
                m.reset_running_stats()
    return module


def resolve_saved_device(device: Any) -> torch.device:
    """The device of a loaded model: the requested one, or the CPU when it is unavailable."""
    from synthgen.exceptions import ConfigurationError
    from synthgen.utils import resolve_device

    try:
        return resolve_device(device)
    except ConfigurationError:
        return torch.device("cpu")


def module_arrays(module: nn.Module, prefix: str) -> dict[str, np.ndarray]:
    """The module's state as named CPU numpy arrays (for safetensors)."""
    return {
        f"{prefix}.{k}": v.detach().cpu().numpy().copy() for k, v in module.state_dict().items()
    }


def _same_shape(saved: tuple[int, ...], expected: tuple[int, ...]) -> bool:
    # safetensors stores a 0-d tensor (batch-norm step counters) as shape [1]; torch accepts it.
    return saved == expected or (expected == () and saved == (1,))


class _TooLargeError(Exception):
    pass


@contextlib.contextmanager
def _bounded_build(limit: int) -> Iterator[None]:
    """Abort building a module once it registers more than ``limit`` modules, parameters
    and buffers: a saved file's parameters must not make Python build millions of layers."""
    torch_module = torch.nn.modules.module
    count = [0]

    def hook(*args: Any) -> None:
        count[0] += 1
        if count[0] > limit:
            raise _TooLargeError

    handles = [
        torch_module.register_module_module_registration_hook(hook),
        torch_module.register_module_parameter_registration_hook(hook),
        torch_module.register_module_buffer_registration_hook(hook),
    ]
    try:
        yield
    finally:
        for handle in handles:
            handle.remove()


def load_module(
    factory: Callable[[], nn.Module], arrays: dict[str, np.ndarray], prefix: str, device: Any
) -> nn.Module:
    """Rebuild a module saved with :func:`module_arrays`.

    The saved arrays are untrusted: the network is first built on the ``meta`` device (no
    memory) and every saved array's name and shape compared with it, so parameters that
    describe a huge network, or arrays of the wrong shape, are refused before anything is
    allocated.
    """
    from synthgen.exceptions import PersistenceError

    head = f"{prefix}."
    saved = {k[len(head) :]: v for k, v in arrays.items() if k.startswith(head)}
    try:
        with torch.device("meta"), _bounded_build(4 * len(saved) + 1024):
            skeleton = factory()
    except _TooLargeError:
        raise PersistenceError(
            f"the saved {prefix!r} weights do not fit the network its parameters describe: "
            f"the parameters describe far more layers than the {len(saved)} saved arrays"
        ) from None
    except (ValueError, TypeError, RuntimeError, IndexError) as err:
        raise PersistenceError(
            f"the parameters describe no valid {prefix!r} network: {err}"
        ) from None
    expected = skeleton.state_dict()
    missing = sorted(set(expected) - set(saved))
    unexpected = sorted(set(saved) - set(expected))
    wrong = [
        f"{k}: saved {list(saved[k].shape)}, network {list(v.shape)}"
        for k, v in expected.items()
        if k in saved and not _same_shape(tuple(saved[k].shape), tuple(v.shape))
    ]
    # Tensors a module holds outside its state (none today) must stay small as well.
    n_state = sum(v.numel() for v in expected.values())
    n_all = sum(p.numel() for p in skeleton.parameters()) + sum(
        b.numel() for b in skeleton.buffers()
    )
    problems = []
    if missing:
        problems.append(f"missing {missing[:5]}")
    if unexpected:
        problems.append(f"unexpected {unexpected[:5]}")
    if wrong:
        problems.append(f"misshapen {wrong[:3]}")
    if n_all > n_state + 2**20:
        problems.append(f"{n_all - n_state:,} values outside the saved state")
    if problems:
        raise PersistenceError(
            f"the saved {prefix!r} weights do not fit the network its parameters describe: "
            + "; ".join(problems)
        )
    module = build_module(factory, device, None)
    state = {k: torch.from_numpy(np.array(v, copy=True)) for k, v in saved.items()}
    try:
        module.load_state_dict(state)
    except RuntimeError as err:  # e.g. a dtype torch cannot copy into the parameter
        detail = str(err).splitlines()[-1].strip() if str(err) else repr(err)
        raise PersistenceError(
            f"the saved {prefix!r} weights do not fit the network its parameters describe: {detail}"
        ) from None
    module.eval()
    return module


def sample_in_chunks(n_samples: int, chunk: int, draw: Callable[[int], torch.Tensor]) -> np.ndarray:
    """Concatenate ``draw(size)`` over chunks of at most ``chunk`` rows (bounded memory)."""
    parts = []
    done = 0
    with torch.no_grad():
        while done < n_samples:
            size = min(chunk, n_samples - done)
            parts.append(draw(size).float().cpu().numpy())
            done += size
    return np.concatenate(parts, axis=0).astype(np.float32, copy=False)
