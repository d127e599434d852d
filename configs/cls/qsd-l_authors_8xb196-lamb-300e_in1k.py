# QSD-Transformer L with the authors' neuron semantics (see qsd_t_in1k_authors.py):
# for the released 55M_w4 checkpoint converted by tools/model_converters/qsd2mmqsd.py.
_base_ = ['./qsd_t_in1k_authors.py']

model = dict(backbone=dict(arch='L'), head=dict(in_channels=640))
