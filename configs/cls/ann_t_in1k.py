# Short alias of ann-qsd-t_8xb196-lamb-300e_in1k.py.
_base_ = ['./ann-qsd-t_8xb196-lamb-300e_in1k.py']
