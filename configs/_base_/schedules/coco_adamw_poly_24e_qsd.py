# QSD paper Appendix G.2 (COCO): AdamW, lr 1e-4, polynomial decay with power 0.9,
# 24 epochs, batch 12 in total.  Not stated in the paper, our choices: weight
# decay 0.05 and betas (0.9, 0.999) (the authors' detection configs), no decay
# on BN parameters, a 1000-iteration linear warm-up (the authors' configs warm
# up too) and decay to 0 over the whole run.
optim_wrapper = dict(
    type='OptimWrapper',  # `tools/train.py --amp` switches to mixed precision on GPU
    optimizer=dict(type='AdamW', lr=1e-4, betas=(0.9, 0.999), weight_decay=0.05),
    paramwise_cfg=dict(norm_decay_mult=0.0),
)

max_epochs = 24
param_scheduler = [
    dict(type='LinearLR', start_factor=1e-3, by_epoch=False, begin=0, end=1000),
    dict(type='PolyLR', power=0.9, eta_min=0.0, by_epoch=True, begin=0, end=max_epochs,
         convert_to_iter_based=True),
]
train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=max_epochs, val_interval=1)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')

# The lr above is for 4 GPUs x 3 images; `tools/train.py --auto-scale-lr` rescales it.
auto_scale_lr = dict(enable=False, base_batch_size=12)
