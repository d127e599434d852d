# Set-up commands promised by the README: `make demo` and `make test`.
# Both install the environment first (tools/misc/install.sh is idempotent and
# returns in seconds when the virtual environment is up to date).  MMQSD_VENV
# selects another environment (see docs/install.md), MMQSD_CUDA=1 a GPU build.
#
# Demo training uses DEMO_THREADS compute threads (default 1): on a 2-core
# machine shared with other jobs, two spinning OpenMP threads per process are
# many times slower; on an idle machine `make demo DEMO_THREADS=2` is ~25% faster.

VENV         := $(or $(MMQSD_VENV),.venv)
PYTHON       := $(VENV)/bin/python
DEMO_THREADS ?= 1
RUN          := OMP_NUM_THREADS=$(DEMO_THREADS) $(PYTHON)
LAST_CKPT     = "$$(cat $(1)/last_checkpoint)"

.PHONY: install test demo demo-det demo-seg demo-digits

install:
	bash tools/misc/install.sh

test: install
	$(PYTHON) -m pytest tests -q

# The main job: QSD-T Mask R-CNN with a spiking FPN on synthetic COCO-format shapes.
# Generate the data if missing, train, draw predictions on a val image, evaluate;
# tools/test.py prints the COCO bbox/segm metrics last (coco/bbox_mAP_50 ...).
demo: demo-det

demo-det: DET_CFG  := configs/det/qsd_t_maskrcnn_demo.py
demo-det: DET_WORK := work_dirs/qsd_t_maskrcnn_demo
demo-det: install
	$(PYTHON) tools/misc/make_demo_data.py coco --out data/demo_coco
	$(RUN) tools/train.py $(DET_CFG) --work-dir $(DET_WORK)
	$(RUN) tools/analysis/visualize_predictions.py $(DET_CFG) $(call LAST_CKPT,$(DET_WORK)) --scale 3 --score-thr 0.5 --out $(DET_WORK)/predictions.png
	$(RUN) tools/test.py $(DET_CFG) $(call LAST_CKPT,$(DET_WORK)) --work-dir $(DET_WORK)

# Semantic FPN on synthetic ADE20K-layout scenes (prints mIoU, writes prediction.png).
demo-seg: SEG_CFG  := configs/seg/qsd_t_fpn_demo.py
demo-seg: SEG_WORK := work_dirs/qsd_t_fpn_demo
demo-seg: install
	$(PYTHON) tools/misc/make_demo_data.py ade --out data/demo_ade
	$(RUN) tools/train.py $(SEG_CFG) --work-dir $(SEG_WORK)
	$(RUN) tools/analysis/visualize_segmentation.py $(SEG_CFG) $(call LAST_CKPT,$(SEG_WORK)) --index 0 --scale 3 --out $(SEG_WORK)/prediction.png
	$(RUN) tools/test.py $(SEG_CFG) $(call LAST_CKPT,$(SEG_WORK)) --work-dir $(SEG_WORK)

# Classification on scikit-learn's digits (prints accuracy/top1).
demo-digits: CLS_CFG  := configs/cls/qsd_t_demo_digits.py
demo-digits: CLS_WORK := work_dirs/qsd_t_demo_digits
demo-digits: install
	$(PYTHON) tools/misc/make_demo_data.py digits --out data/demo_digits
	$(RUN) tools/train.py $(CLS_CFG) --work-dir $(CLS_WORK)
	$(RUN) tools/test.py $(CLS_CFG) $(call LAST_CKPT,$(CLS_WORK)) --work-dir $(CLS_WORK)
