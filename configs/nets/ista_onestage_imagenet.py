# One-stage ISTA-NAS ImageNet genotype (paper: 5.65M params) with the
# paper's ImageNet settings: ImageNet stem, 14 cells, C = 48, BN-appended
# ops, total batch 1024 (8 GPUs x 128), label smoothing 0.1, auxiliary weight
# 0.4, SGD lr 0.5 wd 3e-5, linear decay over 250 epochs.
_base_ = [
    '../_base_/models/darts_imagenet.py',
    '../_base_/datasets/imagenet_bs128_darts.py',
    '../_base_/schedules/darts_imagenet_250e.py',
    '../_base_/default_runtime.py',
]
