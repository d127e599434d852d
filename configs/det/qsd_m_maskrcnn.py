# Short alias of mask-rcnn_qsd-m_spiking-fpn_4xb3-24e_coco.py.
_base_ = ['./mask-rcnn_qsd-m_spiking-fpn_4xb3-24e_coco.py']
