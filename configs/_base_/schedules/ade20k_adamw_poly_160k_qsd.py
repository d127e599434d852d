# QSD paper Appendix G.3 (ADE20K): AdamW, lr 1e-4, polynomial decay with power
# 0.9, a 1500-iteration linear warm-up, 160k iterations, batch 20 in total.
# Not stated in the paper, our choices: betas (0.9, 0.999), weight decay 0.005
# (the authors' segmentation configs), decay to 0.  The authors' configs also
# use lr 1e-3 with `head` lr_mult 2 and poly power 1.0; we follow the paper.
# Hooks, loops and the 16k-iteration validation/checkpoint intervals: mmseg's.
_base_ = 'mmseg::_base_/schedules/schedule_160k.py'

max_iters = 160000
warmup_iters = 1500
optimizer = dict(
    _delete_=True, type='AdamW', lr=1e-4, betas=(0.9, 0.999), weight_decay=0.005)
optim_wrapper = dict(
    type='OptimWrapper',  # `tools/train.py --amp` switches to mixed precision on GPU
    optimizer=optimizer)
param_scheduler = [
    dict(type='LinearLR', start_factor=1e-6, by_epoch=False, begin=0, end=warmup_iters),
    dict(type='PolyLR', power=0.9, eta_min=0.0, by_epoch=False, begin=warmup_iters,
         end=max_iters),
]
train_cfg = dict(type='IterBasedTrainLoop', max_iters=max_iters)

# The lr above is for 4 GPUs x 5 images; `tools/train.py --auto-scale-lr` rescales it.
auto_scale_lr = dict(enable=False, base_batch_size=20)
