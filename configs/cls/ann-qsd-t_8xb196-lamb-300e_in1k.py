# ANN counterpart of QSD-T, the teacher of qsd-t_fgd_8xb196-lamb-300e_in1k.py
# (QSD Sec. 4.3, Fig. 1c):
# mmqsd.ANNTransformer has QSD-T's layout and dims with full-precision weights, ReLU in
# place of the spiking neurons and softmax MHSA; 15.1M parameters with the head, the
# size of the ANN in QSD Table 1 (CAFormer*).  Trained with the student's recipe.
_base_ = ['./qsd-t_8xb196-lamb-300e_in1k.py']

model = dict(
    backbone=dict(_delete_=True, type='mmqsd.ANNTransformer', arch='T'),
    head=dict(weight_bits=None, neuron=dict(_delete_=True, type='relu')),  # replaces 'ie_lif'
)
