# Table 5, row 2: IE-LIF (4 levels, T=1), 4-bit weights, without FGD (paper: 75.8 %).
# Same settings as the main T config, kept here so the ablation table is complete.
_base_ = ['../qsd-t_8xb196-lamb-300e_in1k.py']
