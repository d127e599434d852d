# QSD-Transformer T computing exactly what the authors' code computes
# (github.com/bollossom/QSD-Transformer): use it with
# checkpoints converted by tools/model_converters/qsd2mmqsd.py.
#   * Multispike  round_half_up(clip(4x, 0, 4)) / 4   -> IE-LIF gain=4 (norm = levels = 4)
#   * attention   round_half_up(clip(4x, 0, 4)) / 2   -> attention IE-LIF norm=2
#   * attention scale 0.25, no MPRF (their code has none), 4-bit per-channel LSQ
#     weights everywhere, layer scales (init 1e-6).
_base_ = ['./qsd-t_8xb196-lamb-300e_in1k.py']

model = dict(
    backbone=dict(
        weight_bits=4,
        mprf=False,
        neuron_cfg=dict(gain=4.),
        attn_neuron_cfg=dict(norm=2.),
        attn_scale=0.25,
        layer_scale_init=1e-6),
    head=dict(weight_bits=4, neuron_cfg=dict(gain=4.)))
