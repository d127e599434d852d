# Semantic FPN with a CSDformer-8-384 QANN backbone on ADE20K (our extension: the paper
# covers classification only).  mmseg's sem_fpn R-50 config with the backbone replaced:
# tokenizer stages 2 and 3 (strides 4, 8) and the last block (stride 16) feed mmseg's FPN,
# whose extra max-pooled level gives the stride-32 input of the FPN head.  AdamW instead
# of SGD (no LayerNorm in the backbone; SGD at lr 0.01 is not a tested choice).
# Backbone from the ImageNet QANN: add to the backbone
#   init_cfg=dict(type='Pretrained', prefix='backbone.',
#                 checkpoint='work_dirs/csdformer-8-384_8xb36-adamw-310e_in1k/epoch_310.pth')
_base_ = 'mmseg::sem_fpn/fpn_r50_4xb4-160k_ade20k-512x512.py'
custom_imports = dict(imports=['mmqsd'], allow_failed_imports=False)

model = dict(
    pretrained=None,  # mmseg's ResNet-50 checkpoint; ours goes in backbone.init_cfg
    # QANN defaults: quantized=True, levels=4, img_size=224 (ImageNet tokenizer, 4 max-pools).
    backbone=dict(_delete_=True, type='mmqsd.CSDformer', arch='8-384', out_indices=(2, 3, -1)),
    neck=dict(in_channels=[192, 384, 384], num_outs=4),
)

optim_wrapper = dict(
    _delete_=True,
    type='OptimWrapper',
    optimizer=dict(type='AdamW', lr=1e-4, betas=(0.9, 0.999), weight_decay=0.01),
    paramwise_cfg=dict(norm_decay_mult=0.0, bias_decay_mult=0.0, flat_decay_mult=0.0),
)
param_scheduler = [
    dict(type='LinearLR', start_factor=1e-6, by_epoch=False, begin=0, end=1500),
    dict(type='PolyLR', power=0.9, eta_min=0.0, by_epoch=False, begin=1500, end=160000),
]
