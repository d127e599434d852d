# Short alias of qsd-l_in1k-pre_1xb128-adamw-100e_cifar10-128px.py.
_base_ = ['./qsd-l_in1k-pre_1xb128-adamw-100e_cifar10-128px.py']
