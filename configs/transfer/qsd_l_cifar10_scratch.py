# Short alias of qsd-l_1xb256-lamb-100e_cifar10-128px.py.
_base_ = ['./qsd-l_1xb256-lamb-100e_cifar10-128px.py']
