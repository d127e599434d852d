# Short alias of csdformer-2-64_1xb32-adamw-30e_demo-digits.py.
_base_ = ['./csdformer-2-64_1xb32-adamw-30e_demo-digits.py']
