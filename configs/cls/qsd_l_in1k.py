# Short alias of qsd-l_8xb196-lamb-300e_in1k.py.
_base_ = ['./qsd-l_8xb196-lamb-300e_in1k.py']
