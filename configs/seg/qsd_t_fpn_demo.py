# Short alias of fpn_qsd-mini_1xb8-600iter_demo-ade-128x128.py.
_base_ = ['./fpn_qsd-mini_1xb8-600iter_demo-ade-128x128.py']
