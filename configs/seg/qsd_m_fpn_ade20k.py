# Short alias of fpn_qsd-m_4xb5-160k_ade20k-512x512.py.
_base_ = ['./fpn_qsd-m_4xb5-160k_ade20k-512x512.py']
