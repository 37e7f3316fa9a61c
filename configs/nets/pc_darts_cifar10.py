# PC-DARTS CIFAR-10 genotype, for comparison (paper: 3.6M)
# retrained with the same CIFAR-10 evaluation settings as
# ista_twostage_cifar10.py.
_base_ = ['./ista_twostage_cifar10.py']

model = dict(backbone=dict(genotype='pc_darts', bn_append=False))
