# The QSD-Transformer as a dense-prediction backbone and the spiking FPN on top of it,
# shared by the detection and segmentation model bases, which plug them into the
# library's own model with `backbone={{_base_.qsd_backbone}}, neck={{_base_.spiking_fpn}}`
# (`_delete_` drops the ResNet / FPN settings of the library's base).  Arch T.
# `ann_backbone` is the ANN counterpart (the FGD teachers of detection and segmentation).
qsd_backbone = dict(
    _delete_=True,
    type='mmqsd.QSDTransformer',
    arch='T',
    weight_bits=4,
    neuron='ie_lif',
    levels=4,
    time_steps=1,
    mprf=True,
    out_indices=(0, 1, 2, 3),
    # 2 (not the authors' 1) puts stage 4 at stride 32: the pyramid really is
    # 4/8/16/32, as mmdet's anchors / RoI extractors and Semantic FPN expect.
    stage4_stride=2,
    time_reduce='mean',
    frozen_stages=-1,
    norm_eval=False,
    drop_path_rate=0.)

spiking_fpn = dict(
    _delete_=True,
    type='mmqsd.SpikingFPN',
    in_channels=[64, 128, 256, 360],
    out_channels=256,
    num_outs=5,
    weight_bits=4,
    neuron='ie_lif',
    levels=4)

# Full-precision weights, ReLU and softmax MHSA on the same pyramid, starting from the
# ImageNet ANN teacher of configs/cls/ann-qsd-t_8xb196-lamb-300e_in1k.py.
ann_backbone = dict(
    _delete_=True,
    type='mmqsd.ANNTransformer',
    arch='T',
    out_indices=(0, 1, 2, 3),
    stage4_stride=2,
    time_reduce='mean',
    init_cfg=dict(type='Pretrained', checkpoint='data/checkpoints/ann_t_in1k.pth',
                  prefix='backbone.'))
