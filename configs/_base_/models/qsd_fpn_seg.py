# Spiking Semantic FPN with a QSD-Transformer backbone (QSD paper Sec. 5 "Semantic
# segmentation", Table 3), arch T.  Built on mmseg's own Semantic FPN model
# (EncoderDecoder + FPN + FPNHead); the backbone, the neck and the decode head
# are replaced by spiking ones, so every conv up to and including the final
# classifier consumes IE-LIF spikes (docs/segmentation.md).  The backbone is the
# detection one (qsd_pyramid.py): stage4_stride=2 gives the 4/8/16/32 pyramid
# Semantic FPN is designed for, where the authors tap strides 2/4/8/16 (their
# head then predicts at stride 2).  Sizes differ in `arch`, the neck's
# `in_channels` and the channels (see configs/seg/*qsd-m*).
_base_ = ['mmseg::_base_/models/fpn_r50.py', './qsd_pyramid.py']
custom_imports = dict(imports=['mmqsd'], allow_failed_imports=False)

channels = 128  # neck and head width of the authors' 15M config
norm_cfg = dict(type='SyncBN', requires_grad=True)  # neck and head, as mmseg's Semantic FPN
model = dict(
    pretrained=None,  # mmseg's ResNet URL; QSD loads through backbone.init_cfg
    backbone={{_base_.qsd_backbone}},
    neck=dict(
        _delete_=True,
        type='mmqsd.SpikingNormFPN',  # SpikingFPN + BN after each conv (authors' QFPN)
        in_channels=[64, 128, 256, 360],
        out_channels=channels,
        num_outs=4,
        norm_cfg=norm_cfg,
        weight_bits=4,
        neuron='ie_lif',
        levels=4),
    decode_head=dict(
        type='mmqsd.SpikingFPNHead',
        in_channels=[channels] * 4,
        channels=channels,
        feature_strides=[4, 8, 16, 32],
        weight_bits=4,
        cls_weight_bits=8,  # conv_seg; None for full precision as the authors
        levels=4,
        norm_cfg=norm_cfg),
    # in_index, dropout 0.1, num_classes, align_corners and
    # the cross-entropy loss: mmseg's Semantic FPN defaults.
)
