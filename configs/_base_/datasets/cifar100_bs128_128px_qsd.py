# CIFAR-100 at 128x128: the CIFAR-10 set-up with CIFAR-100's data and statistics.
_base_ = ['./cifar10_bs128_128px_qsd.py']

dataset_type = 'CIFAR100'
data_root = 'data/cifar100'  # holds cifar-100-python/

data_preprocessor = dict(
    num_classes=100, mean=[129.304, 124.070, 112.434], std=[68.170, 65.392, 70.418])

train_dataloader = dict(dataset=dict(type=dataset_type, data_root=data_root))
val_dataloader = dict(dataset=dict(type=dataset_type, data_root=data_root))
test_dataloader = val_dataloader
