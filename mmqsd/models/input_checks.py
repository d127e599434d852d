"""Checks a neck or head runs on the feature maps it receives.

A neck or head built for other channels than its input's used to fail inside
its first conv ("expected input ... to have 16 channels, but got 32"), which
names neither the module nor the config key to change.
"""
from typing import Sequence, Union

import torch


def check_input_channels(owner: str, maps: Sequence[torch.Tensor],
                         in_channels: Union[int, Sequence[int]], key: str, source: str) -> None:
    """Raise if the channel axis (-3) of ``maps`` differs from ``in_channels``.

    Args:
        owner: the module's class name, for the message.
        maps: the ``(..., C, H, W)`` maps it received, in order.
        in_channels: the channels it was built for, one per map (an int: one map).
        key: the config key to change, e.g. ``'model.neck.in_channels'``.
        source: what ``key`` must equal, e.g. "the backbone's output channels".

    Raises:
        ValueError: naming the received and configured channels and ``key``.
    """
    received = [int(x.shape[-3]) for x in maps]
    single = isinstance(in_channels, int)
    configured = [in_channels] if single else [int(c) for c in in_channels]
    if received != configured:
        value = received[0] if single and len(received) == 1 else received
        raise ValueError(f'{owner} received feature maps with channels {received} but was '
                         f'built for in_channels={in_channels if single else configured}: set '
                         f'{key}={value} ({key} must equal {source})')
