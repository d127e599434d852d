# Short alias of qsd-mini_fgd_1xb32-adamw-30e_demo-digits.py.
_base_ = ['./qsd-mini_fgd_1xb32-adamw-30e_demo-digits.py']
