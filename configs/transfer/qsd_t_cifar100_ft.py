# Short alias of qsd-t_in1k-pre_1xb128-adamw-100e_cifar100-128px.py.
_base_ = ['./qsd-t_in1k-pre_1xb128-adamw-100e_cifar100-128px.py']
