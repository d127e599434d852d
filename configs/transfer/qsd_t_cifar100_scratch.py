# Short alias of qsd-t_1xb256-lamb-100e_cifar100-128px.py.
_base_ = ['./qsd-t_1xb256-lamb-100e_cifar100-128px.py']
