# QSD paper Table 8, CIFAR10/100 column (training from scratch): LAMB, base lr 6e-4,
# weight decay 0.05, cosine decay, no warm-up, 100 epochs, batch 256.  The rest (no
# decay on 1-D parameters, final lr 1e-6) is the fine-tuning schedule's, our choices.
_base_ = ['./transfer_adamw_cos_100e_qsd.py']

optim_wrapper = dict(optimizer=dict(_delete_=True, type='Lamb', lr=6e-4, weight_decay=0.05))

# The lr above is for a total batch of 256; `--auto-scale-lr` rescales it.
auto_scale_lr = dict(base_batch_size=256)
