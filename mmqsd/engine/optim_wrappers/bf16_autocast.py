"""bfloat16 autocast training on any device, CPU included.

mmengine's ``AmpOptimWrapper`` refuses to start without a GPU and adds fp16
loss scaling; bfloat16 has float32's exponent range and needs no scaling.
This wrapper runs the forward pass under ``torch.autocast(device, bfloat16)``
(weights, optimizer state and the update stay float32).

Numerics change: convolutions and matmuls round their inputs (including the
LSQ weights ``step * Q(w)``) to bfloat16's 8-bit mantissa and return
bfloat16 membrane potentials, so IE-LIF counts near a rounding threshold can
differ from fp32 training.  Spike values ``k / b`` themselves are exact in
bfloat16.  Use it for speed on CPUs with bf16 instructions (AVX512-BF16/AMX)
and GPUs; keep fp32 (the default) to reproduce results.
"""
from contextlib import contextmanager

import torch
from mmengine.optim import OptimWrapper

from mmqsd.registry import OPTIM_WRAPPERS


@OPTIM_WRAPPERS.register_module()
class BF16AutocastOptimWrapper(OptimWrapper):
    """``OptimWrapper`` whose forward runs under bfloat16 autocast."""

    @contextmanager
    def optim_context(self, model: torch.nn.Module):
        device = next((p.device for p in model.parameters()), torch.device('cpu'))
        with super().optim_context(model), \
                torch.autocast(device_type=device.type, dtype=torch.bfloat16):
            yield
