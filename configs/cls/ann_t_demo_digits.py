# Short alias of ann-qsd-mini_1xb32-adamw-30e_demo-digits.py.
_base_ = ['./ann-qsd-mini_1xb32-adamw-30e_demo-digits.py']
