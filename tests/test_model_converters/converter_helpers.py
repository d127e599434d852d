"""Tiny models with the authors' options and synthetic checkpoints in their key layout."""
import os.path as osp

import torch

from mmqsd.apis import build_model_from_config
from mmqsd.deploy import randomize_statistics
from mmqsd.models.backbones.checkpoint_converters import authors_key
from mmqsd.layers import LSQWeightMixin

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
QSD_CONFIG = osp.join(ROOT, 'configs', 'cls', 'qsd_t_in1k_authors.py')
SDTV2_CONFIG = osp.join(ROOT, 'configs', 'cls', 'sdtv2_l_in1k_authors.py')
TINY = dict(embed_dims=[8, 16, 16, 24], num_heads=2, depths=(2, 1))
NUM_CLASSES = 5


def build_tiny(config, time_steps=1):
    return build_model_from_config(config, {
        'model.backbone.arch': dict(TINY, _delete_=True), 'model.backbone.time_steps': time_steps,
        'model.head.in_channels': TINY['embed_dims'][-1],
        'model.head.num_classes': NUM_CLASSES}).eval()


@torch.no_grad()
def randomized(model, seed=0):
    """Random BN statistics, layer scales and LSQ steps (a trained-looking model)."""
    randomize_statistics(model, seed=seed)
    gen = torch.Generator().manual_seed(seed)
    for module in model.modules():
        if isinstance(module, LSQWeightMixin) and module.quantized:
            module.init_step_()
            module.step_size.mul_(torch.rand(module.step_size.shape, generator=gen) * 0.4 + 0.8)
    return model


def authors_state_dict(model, qsd=True, kd_head=False):
    """The model's weights renamed to the authors' layout, with their extras (§11.3)."""
    state = {}
    for key, value in model.state_dict().items():
        name = authors_key(key)
        if name.endswith('.init_state'):
            value = torch.ones(1) * float(value)
        if not qsd and 'layer_scale' in name:
            continue  # SDT-V2 blocks have no layer scale
        state[name] = value.clone()
        if name.endswith('.alpha'):  # the never-applied activation LSQ of each layer
            in_ch = state[name[:-len('alpha')] + 'weight'].shape[1]
            base = name[:-len('alpha')] + 'act.'
            state.update({base + 'alpha': torch.rand(in_ch), base + 'zero_point': torch.zeros(in_ch),
                          base + 'init_state': torch.ones(1), base + 'signed': torch.zeros(1)})
    if kd_head:
        state['head_kd.weight'] = torch.randn_like(state['head.weight'])
        state['head_kd.bias'] = torch.randn_like(state['head.bias'])
    return state
