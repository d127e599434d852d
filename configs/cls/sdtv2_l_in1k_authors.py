# Short alias of sdtv2-55m_authors_8xb196-lamb-300e_in1k.py.
_base_ = ['./sdtv2-55m_authors_8xb196-lamb-300e_in1k.py']
