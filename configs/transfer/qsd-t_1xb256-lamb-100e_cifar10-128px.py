# QSD-Transformer T trained from scratch on CIFAR-10, paper Table 8 (CIFAR10/100 column):
# 128x128, LAMB lr 6e-4 (weight decay 0.05), cosine, no warm-up, 100 epochs, batch 256,
# RandAugment 9/0.5, Mixup 0.8, CutMix 1.0, no label smoothing; T=1 training (IE-LIF,
# 4 levels = 4 virtual time steps at inference).  The paper reports no from-scratch
# CIFAR accuracy (Table 4 is fine-tuning).
_base_ = [
    '../_base_/models/qsd_transformer_cls.py',
    '../_base_/datasets/cifar10_bs128_128px_qsd.py',
    '../_base_/schedules/cifar_lamb_cos_100e_qsd.py',
    '../_base_/default_runtime.py',
]

# Mixup/CutMix give soft targets: plain (soft) cross-entropy, no label smoothing.
model = dict(
    head=dict(num_classes=10, loss=dict(_delete_=True, type='CrossEntropyLoss', use_soft=True)))
train_dataloader = dict(batch_size=256)
