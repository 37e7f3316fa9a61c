# DARTS (second order) genotype, for comparison (paper: 3.3M)
# retrained with the same CIFAR-10 evaluation settings as
# ista_twostage_cifar10.py.
_base_ = ['./ista_twostage_cifar10.py']

model = dict(backbone=dict(genotype='darts_v2', bn_append=False))
