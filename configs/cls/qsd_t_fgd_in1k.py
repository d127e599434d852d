# Short alias of qsd-t_fgd_8xb196-lamb-300e_in1k.py.
_base_ = ['./qsd-t_fgd_8xb196-lamb-300e_in1k.py']
