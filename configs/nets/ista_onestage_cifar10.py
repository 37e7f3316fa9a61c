# One-stage ISTA-NAS CIFAR-10 genotype with BN-appended ops (paper: 3.37M)
# retrained with the same CIFAR-10 evaluation settings as
# ista_twostage_cifar10.py.
_base_ = ['./ista_twostage_cifar10.py']

model = dict(backbone=dict(genotype='ista_onestage_cifar10', bn_append=True))
