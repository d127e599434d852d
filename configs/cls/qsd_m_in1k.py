# Short alias of qsd-m_8xb196-lamb-300e_in1k.py.
_base_ = ['./qsd-m_8xb196-lamb-300e_in1k.py']
