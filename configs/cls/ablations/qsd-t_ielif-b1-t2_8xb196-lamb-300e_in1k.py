# Table 6: IE-LIF activity bits b=1 (levels) and training time steps T=2, 4-bit weights.
# Table 6 likely used FGD (its b=4, T=1 row equals Table 5's IE-LIF + FGD 77.5 %);
# this config trains without it.
_base_ = ['../qsd-t_8xb196-lamb-300e_in1k.py']

model = dict(backbone=dict(levels=1, time_steps=2), head=dict(levels=1))
