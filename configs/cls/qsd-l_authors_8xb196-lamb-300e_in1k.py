# QSD-Transformer L with the authors' neuron semantics (see qsd-t_authors_8xb196-lamb-300e_in1k.py):
# for the released 55M_w4 checkpoint converted by tools/model_converters/qsd2mmqsd.py.
_base_ = ['./qsd-t_authors_8xb196-lamb-300e_in1k.py']

model = dict(backbone=dict(arch='L'), head=dict(in_channels=640))
