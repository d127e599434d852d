# Paper Table 8: LAMB, base lr 6e-4 per 256 images at total batch 1568, weight
# decay 0.05 (none on norms, biases and other 1-D parameters), 10 linear
# warm-up epochs then cosine decay, 300 epochs.  The warm-up start factor and
# the final lr (eta_min) are not given in the paper; these are our choices.
optim_wrapper = dict(
    optimizer=dict(type='Lamb', lr=6e-4 * 1568 / 256, weight_decay=0.05),
    paramwise_cfg=dict(norm_decay_mult=0.0, bias_decay_mult=0.0, flat_decay_mult=0.0),
)

param_scheduler = [
    dict(type='LinearLR', start_factor=1e-3, by_epoch=True, begin=0, end=10,
         convert_to_iter_based=True),
    dict(type='CosineAnnealingLR', T_max=290, eta_min=1e-6, by_epoch=True, begin=10, end=300),
]

train_cfg = dict(by_epoch=True, max_epochs=300, val_interval=1)
val_cfg = dict()
test_cfg = dict()

# The lr above is for 8 GPUs x 196 images; `--auto-scale-lr` rescales it.
auto_scale_lr = dict(base_batch_size=1568)
