# QSD paper Appendix G.4 (fine-tuning from ImageNet on CIFAR-10/100 and CIFAR10-DVS):
# AdamW, lr 1e-4, weight decay 0.01, cosine decay over 100 epochs, batch 128 (one GPU),
# no warm-up.  Not stated in the paper, our choices: no decay on norms, biases and other
# 1-D parameters (as in the ImageNet schedule) and a final lr of 1e-6.
optim_wrapper = dict(
    optimizer=dict(type='AdamW', lr=1e-4, weight_decay=0.01),
    paramwise_cfg=dict(norm_decay_mult=0.0, bias_decay_mult=0.0, flat_decay_mult=0.0),
)

max_epochs = 100
param_scheduler = [
    dict(type='CosineAnnealingLR', T_max=max_epochs, eta_min=1e-6, by_epoch=True, begin=0,
         end=max_epochs, convert_to_iter_based=True),
]
train_cfg = dict(by_epoch=True, max_epochs=max_epochs, val_interval=1)
val_cfg = dict()
test_cfg = dict()

# The lr above is for 1 GPU x 128 images; `--auto-scale-lr` rescales it.
auto_scale_lr = dict(base_batch_size=128)
