# Two-stage ISTA-NAS genotype (paper: 3.32M params, 2.54% error)
# retrained from scratch with the paper's CIFAR-10 evaluation settings:
# 20 cells, C = 36, batch 96, 600 epochs, cutout 16, drop-path 0.2,
# auxiliary weight 0.4, SGD lr 0.025 cosine, gradient clip 5.
_base_ = [
    '../_base_/models/darts_cifar.py',
    '../_base_/datasets/cifar10_bs96_cutout.py',
    '../_base_/schedules/darts_cifar_600e.py',
    '../_base_/default_runtime.py',
]

model = dict(backbone=dict(genotype='ista_twostage_cifar10', bn_append=False))
