"""Fixtures of the CUDA tests: the device under test, strict float32 while they run.

Every test here takes the ``device`` fixture, which skips the test with a reason when
``torch.cuda.is_available()`` is False (``tools/benchmark/gpu_check.sh`` runs them on a GPU
machine).  ``MMQSD_CUDA_TESTS_DEVICE=cpu`` runs the same tests against the CPU instead, to
check the tests themselves on a machine without a GPU; the CPU-vs-device comparisons are then
CPU against CPU.

While a test runs, TF32 is off for cuDNN convolutions and cuBLAS matmuls: on Ampere and later
GPUs PyTorch runs float32 convolutions in TF32 (10-bit mantissa) by default, which would
move the float layers' results far beyond float32 rounding, and the equivalence bounds below
are float32 bounds.  The exact integer kernel tests turn TF32 back on (their ``tf32``
fixture): exactness must not depend on it.
"""
import os

import pytest
import torch

DEVICE_ENV = 'MMQSD_CUDA_TESTS_DEVICE'


@pytest.fixture
def device():
    """The CUDA device (or the device named by ``MMQSD_CUDA_TESTS_DEVICE``), TF32 off."""
    name = os.environ.get(DEVICE_ENV, 'cuda')
    if name not in ('cuda', 'cpu'):
        raise ValueError(f'{DEVICE_ENV}={name!r}: use cuda (default) or cpu')
    if name == 'cuda' and not torch.cuda.is_available():
        pytest.skip('CUDA is not available (torch.cuda.is_available() is False): these tests '
                    'check the CUDA paths; run tools/benchmark/gpu_check.sh on a GPU machine')
    flags = torch.backends.cudnn.allow_tf32, torch.backends.cuda.matmul.allow_tf32
    torch.backends.cudnn.allow_tf32 = torch.backends.cuda.matmul.allow_tf32 = False
    try:
        yield torch.device(name)
    finally:
        torch.backends.cudnn.allow_tf32, torch.backends.cuda.matmul.allow_tf32 = flags
