"""The ANN counterpart of the QSD-Transformer: the teacher of fine-grained distillation.

QSD paper Sec. 4.3 (Eq. 13-14) and Fig. 1c distil the Q-SDSA of the student
from "the same architecture ANN": an "ANN-based Transformer" with MHSA.
:class:`ANNTransformer` is :class:`QSDTransformer` with

* full-precision weights (``weight_bits=None``),
* a ReLU wherever the student has a spiking neuron, and no MPRF,
* softmax multi-head self-attention ``softmax(q k^T / sqrt(d)) v`` in the
  transformer stages instead of Q-SDSA's ``scale * q (k^T v)``,

and the same stage layout, dims, heads and module names, so the q/k/v of
transformer layer ``l`` have the student's shapes and Eq. 13 pairs them layer
by layer and head by head.  T with the 1000-class head has 15.1M parameters,
the size of the ANN the paper compares with (Table 1, CAFormer*).

The authors released no FGD code and do not describe the teacher beyond
Fig. 1c.  Our choice: the
teacher's q/k/v pass through the ReLU that replaces the student's IE-LIF, so
both token-similarity matrices of Eq. 13 are non-negative and the optimum
``F_S = F_A`` is reachable; any ``neuron``/``attention`` of
:class:`QSDTransformer` can still be set.
"""
from typing import Optional, Union

from ...registry import MODELS
from .qsd_transformer import QSDTransformer


@MODELS.register_module()
class ANNTransformer(QSDTransformer):
    """ANN counterpart of :class:`QSDTransformer` (FGD teacher, Fig. 1c).

    Takes every argument of :class:`QSDTransformer`; only the defaults differ:
    ``weight_bits=None``, ``neuron=dict(type='relu')``, ``mprf=False``,
    ``attention='softmax'`` and ``attn_scale=None`` (``1/sqrt(d)``).
    """

    def __init__(self, arch: Union[str, dict] = 'T', *, weight_bits: Optional[int] = None,
                 neuron: Union[str, dict, None] = None, mprf: bool = False,
                 attention: str = 'softmax', attn_scale: Optional[float] = None, **kwargs):
        super().__init__(arch, weight_bits=weight_bits, neuron=neuron or dict(type='relu'),
                         mprf=mprf, attention=attention, attn_scale=attn_scale, **kwargs)
