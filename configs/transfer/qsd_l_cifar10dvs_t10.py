# Short alias of qsd-l_t10_in1k-pre_1xb128-adamw-100e_cifar10-dvs-128px.py.
_base_ = ['./qsd-l_t10_in1k-pre_1xb128-adamw-100e_cifar10-dvs-128px.py']
