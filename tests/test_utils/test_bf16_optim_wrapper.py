"""bfloat16 autocast training (issue 10): runs on CPU, really autocasts, trains."""
import torch
from mmengine.optim import build_optim_wrapper
from mmpretrain.structures import DataSample

from mmqsd.apis import init_model
from mmqsd.engine import BF16AutocastOptimWrapper
from mmqsd.layers import QuantConv2d


def test_bf16_wrapper_autocasts_the_forward_and_updates_fp32_weights():
    torch.manual_seed(0)
    model = init_model('configs/cls/qsd_t_in1k.py', cfg_options={
        'model.backbone.arch': dict(embed_dims=[16, 32, 64, 80], num_heads=4, depths=(1, 1),
                                    _delete_=True),
        'model.head.num_classes': 5, 'model.head.in_channels': 80})
    wrapper = build_optim_wrapper(model, dict(
        type='mmqsd.BF16AutocastOptimWrapper', optimizer=dict(type='SGD', lr=0.1)))
    assert isinstance(wrapper, BF16AutocastOptimWrapper)
    conv_dtypes = []
    conv = next(m for m in model.modules() if isinstance(m, QuantConv2d))
    conv.register_forward_hook(lambda m, i, o: conv_dtypes.append(o.dtype))
    before = conv.weight.detach().clone()
    x = torch.randn(2, 3, 32, 32)
    samples = [DataSample().set_gt_label(i) for i in range(2)]
    model.train()
    with wrapper.optim_context(model):
        loss, _ = model.parse_losses(model(x, samples, mode='loss'))
    wrapper.update_params(loss)
    assert conv_dtypes == [torch.bfloat16], 'the forward must run under bf16 autocast'
    assert torch.isfinite(loss) and conv.weight.dtype == torch.float32
    assert not torch.equal(before, conv.weight), 'the fp32 master weights are updated'
