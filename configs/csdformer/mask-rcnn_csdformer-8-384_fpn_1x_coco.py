# Mask R-CNN with a CSDformer-8-384 QANN backbone (our extension: the paper covers
# classification only).  mmdet's Mask R-CNN R-50 FPN 1x with the backbone replaced:
# tokenizer stages 2 and 3 (strides 4, 8) and the last block (stride 16) feed mmdet's FPN,
# whose two extra max-pooled levels give the 4..64 pyramid the anchors expect.  NReLU uses
# the token count of each padded image (N = H/16 * W/16), so attention memory grows as N^2.
# Backbone from the ImageNet QANN: add to the backbone
#   init_cfg=dict(type='Pretrained', prefix='backbone.',
#                 checkpoint='work_dirs/csdformer-8-384_8xb36-adamw-310e_in1k/epoch_310.pth')
_base_ = 'mmdet::mask_rcnn/mask-rcnn_r50_fpn_1x_coco.py'
custom_imports = dict(imports=['mmqsd'], allow_failed_imports=False)

model = dict(
    # QANN defaults: quantized=True, levels=4, img_size=224 (ImageNet tokenizer, 4 max-pools).
    backbone=dict(_delete_=True, type='mmqsd.CSDformer', arch='8-384', out_indices=(2, 3, -1)),
    neck=dict(in_channels=[192, 384, 384], num_outs=5),
)

optim_wrapper = dict(
    _delete_=True,
    type='OptimWrapper',
    optimizer=dict(type='AdamW', lr=1e-4, betas=(0.9, 0.999), weight_decay=0.05),
    paramwise_cfg=dict(norm_decay_mult=0.0, bias_decay_mult=0.0, flat_decay_mult=0.0),
    clip_grad=dict(max_norm=1.0, norm_type=2),
)
