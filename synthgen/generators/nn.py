"""Layers, losses and output activations built from the encoder's span list.

Shared by the VAE and the GAN. :class:`SpanLayout` groups the spans once into a continuous
index vector and a padded ``(n_spans, max_dim)`` index matrix for the one-hot blocks, so a
softmax, a cross-entropy or a Gumbel draw over every categorical block is one vectorised call
instead of a Python loop per column.

Every random draw takes an explicit ``torch.Generator``; modules are created on the ``meta``
device and initialised from that generator, so the process-wide torch RNG is never read.
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import numpy as np
import torch
from torch import nn

from synthgen.generators.softmax import log_softmax, softmax
from synthgen.transforms.table import Span

__all__ = [
    "Residual",
    "SpanLayout",
    "build_module",
    "dropout",
    "gumbel_noise",
    "load_module",
    "module_arrays",
    "resolve_saved_device",
    "sample_in_chunks",
]


class SpanLayout:
    """Index tensors for the continuous and the categorical (softmax) spans.

    Categorical spans are grouped by width, so a softmax, a cross-entropy or a Gumbel draw
    over all of them is one vectorised call per distinct width (no padding to the widest span,
    which would multiply the work when one column has many categories).

    Parameters
    ----------
    spans : sequence of Span
        The encoder's spans. ``tanh``/``identity`` spans are continuous, ``softmax`` spans
        categorical (an ``index`` span is not used by the neural generators).
    device : torch device
        Where the index tensors live.

    Examples
    --------
    >>> spans = [Span("x", "value", 0, 1, "tanh"), Span("x", "mode", 1, 2, "softmax"),
    ...          Span("c", "category", 3, 3, "softmax")]
    >>> layout = SpanLayout(spans)
    >>> layout.n_continuous, layout.n_discrete, len(layout.groups)
    (1, 2, 2)
    """

    def __init__(self, spans: Sequence[Span], device: Any = "cpu") -> None:
        self.spans = list(spans)
        self.dim = max((s.end for s in self.spans), default=0)
        cont = [s for s in self.spans if s.activation in ("tanh", "identity")]
        disc = [s for s in self.spans if s.activation == "softmax"]
        unknown = [s for s in self.spans if s.activation not in ("tanh", "identity", "softmax")]
        if unknown:
            raise ValueError(f"spans with activation {unknown[0].activation!r} are not supported")
        self.cont_spans, self.disc_spans = cont, disc
        self.n_continuous, self.n_discrete = len(cont), len(disc)
        self.tanh_idx = torch.tensor(
            [s.start for s in cont if s.activation == "tanh"], dtype=torch.long, device=device
        )
        self.cont_idx = torch.tensor(
            [i for s in cont for i in range(s.start, s.end)], dtype=torch.long, device=device
        )
        widths = sorted({s.dim for s in disc})
        #: one ``(n_spans, width)`` index matrix per distinct span width
        self.groups = [
            torch.tensor(
                [list(range(s.start, s.end)) for s in disc if s.dim == w],
                dtype=torch.long,
                device=device,
            )
            for w in widths
        ]

    def to(self, device: Any) -> SpanLayout:
        self.tanh_idx = self.tanh_idx.to(device)
        self.cont_idx = self.cont_idx.to(device)
        self.groups = [g.to(device) for g in self.groups]
        return self

    def cross_entropy(self, raw: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        """Per-row sum over categorical spans of the cross-entropy against one-hot targets."""
        total = raw.new_zeros(len(raw), dtype=torch.float32)
        for idx in self.groups:
            logp = log_softmax(raw[:, idx].float())
            total = total - (logp * target[:, idx]).sum(dim=(1, 2))
        return total

    def activate(
        self,
        raw: torch.Tensor,
        *,
        generator: torch.Generator | None = None,
        tau: float = 0.2,
        hard: bool = False,
    ) -> torch.Tensor:
        """Output activations: tanh on tanh spans; softmax (or a Gumbel-softmax draw when a
        ``generator`` is given) on categorical spans; ``hard`` returns one-hot blocks."""
        out = raw.clone()
        if len(self.tanh_idx):
            out[:, self.tanh_idx] = torch.tanh(raw[:, self.tanh_idx])
        for idx in self.groups:
            logits = raw[:, idx].float()
            if hard:
                if generator is None:
                    code = logits.argmax(-1, keepdim=True)
                else:
                    # A draw from softmax(logits / tau) by inverse CDF: one uniform per span
                    # instead of Gumbel noise per category (several times cheaper to sample).
                    # torch's kernel here: saved models keep drawing the rows they drew.
                    cdf = torch.softmax(logits / tau, dim=-1).cumsum(-1)
                    u = torch.rand((*cdf.shape[:-1], 1), generator=generator, device=cdf.device)
                    code = (cdf < u * cdf[..., -1:]).sum(-1, keepdim=True)
                    code = code.clamp_max(logits.shape[-1] - 1)
                probs = torch.zeros_like(logits).scatter_(-1, code, 1.0)
            else:
                if generator is not None:
                    noise = gumbel_noise(logits.shape, generator, logits.device)
                    logits = (logits + noise) / tau
                probs = softmax(logits)
            out[:, idx] = probs.to(out.dtype)
        return out


def gumbel_noise(shape: Sequence[int], generator: torch.Generator, device: Any) -> torch.Tensor:
    """Standard Gumbel noise from ``generator`` (``torch.nn.functional.gumbel_softmax`` would
    draw from the global RNG)."""
    u = torch.rand(tuple(shape), generator=generator, device=device)
    return -torch.log(-torch.log(u.clamp_(1e-10, 1.0 - 1e-7)))


def dropout(x: torch.Tensor, p: float, generator: torch.Generator, training: bool) -> torch.Tensor:
    """Inverted dropout with an explicit generator (``nn.Dropout`` uses the global RNG)."""
    if not training or p <= 0:
        return x
    # The mask carries the scale: one multiplication of x (and of its gradient).
    keep = torch.rand(x.shape, generator=generator, device=x.device) >= p
    return x * keep.to(x.dtype).mul_(1.0 / (1.0 - p))


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
