"""Helpers for the CSDformer tests: tiny quantised models with generic statistics."""
import torch

from mmqsd.deploy import randomize_statistics
from mmqsd.models.backbones import CSDformer

TINY_ARCH = dict(depth=2, embed_dims=32, num_heads=2)


def make_tiny_qann(seed: int = 0, dtype=torch.float64, batch: int = 2, size: int = 16, **kwargs):
    """A tiny quantised CSDformer in eval mode whose quantisers are initialised.

    BN statistics and affines are random (``randomize_statistics``), so the
    quantisers fire at every level; the step sizes then come from LSQ's
    statistical initialisation on random images (generic values: no ties).
    Returns ``(model, images)``.
    """
    torch.manual_seed(seed)
    kwargs = dict(dict(arch=TINY_ARCH, img_size=32), **kwargs)
    model = CSDformer(**kwargs).to(dtype)
    randomize_statistics(model, seed=seed)
    images = torch.randn(batch, 3, size, size, dtype=dtype) * 2
    model.eval()
    with torch.no_grad():
        model(images)  # initialises the quantisers' steps
    return model, images


def uneven_split(x: torch.Tensor, time_steps: int, seed: int = 0) -> torch.Tensor:
    """``(T, ...)`` signed per-step currents whose sum is ``T * x`` (uneven in time)."""
    gen = torch.Generator().manual_seed(seed)
    noise = torch.randn((time_steps, ) + tuple(x.shape), generator=gen, dtype=x.dtype)
    return x + (noise - noise.mean(0)) * x.abs().mean()

