"""Save a deployed model's buffers and load them into a freshly built deployed structure.

A deployed model (:func:`~mmqsd.deploy.forms.convert`) keeps everything it
computes with in its ``state_dict``: int8 weights, float scales and biases,
fused-neuron parameters.  :func:`save_deployed` writes that state with the
form's name; :func:`load_deployed` builds the model of a config, converts the
fresh (untrained) model to the same form (the structure does not depend on
the weights) and loads the file with ``torch.load(weights_only=True)``: no
pickled code, and no trained training-form model is needed.
"""
from typing import Union

import torch
from mmengine.config import Config
from torch import nn

from .forms import FORMS, convert

FORMAT = 'mmqsd-deployed-v1'


def save_deployed(model: nn.Module, path: str, form: str) -> None:
    """Write ``model`` (already converted to ``form``) to ``path``."""
    if form not in FORMS:
        raise ValueError(f'unknown inference form {form!r}; choose one of {FORMS}')
    state = {k: v.detach().cpu() for k, v in model.state_dict().items()}
    torch.save(dict(meta=dict(format=FORMAT, form=form), state_dict=state), path)


def load_deployed(config: Union[str, Config, nn.Module], path: str,
                  form: str = 'integer', device: Union[str, torch.device] = 'cpu') -> nn.Module:
    """The deployed model of ``config`` (a config file, Config, or an unconverted model
    built from it) with the buffers saved at ``path`` by :func:`save_deployed`.

    Raises ``ValueError`` if the file is not a deployed model, was saved in another
    form, or does not match the config's structure (names the differing keys).
    """
    if isinstance(config, nn.Module):
        model = config
    else:
        from ..apis import build_model_from_config  # builds in the config's default scope
        model = build_model_from_config(config)
    checkpoint = torch.load(path, map_location='cpu', weights_only=True)
    meta = checkpoint.get('meta', {}) if isinstance(checkpoint, dict) else {}
    if meta.get('format') != FORMAT:
        raise ValueError(f'{path} is not a deployed mmqsd model (format {meta.get("format")!r}, '
                         f'expected {FORMAT!r}); write one with tools/deploy/export_integer.py')
    if meta['form'] != form:
        raise ValueError(f"{path} holds the {meta['form']!r} form, not {form!r}; pass "
                         f"form={meta['form']!r}")
    deployed = convert(model, form)
    result = deployed.load_state_dict(checkpoint['state_dict'], strict=False)
    if result.missing_keys or result.unexpected_keys:
        raise ValueError(f'{path} does not match the deployed structure of this config: '
                         f'missing {result.missing_keys[:5]}, unexpected '
                         f'{result.unexpected_keys[:5]}; export it from the same config')
    return deployed.to(device).eval()
