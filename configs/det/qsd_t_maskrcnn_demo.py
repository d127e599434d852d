# Short alias of mask-rcnn_qsd-mini_spiking-fpn_1xb8-12e_demo-coco.py.
_base_ = ['./mask-rcnn_qsd-mini_spiking-fpn_1xb8-12e_demo-coco.py']
