# One-stage search network (docs/en/method/onestage.md): the CIFAR-10 target
# network of darts_cifar.py (20 cells, C = 36, auxiliary head on cell 13
# weighted 0.4) as an ISTA super-net. Every op ends in an affine BatchNorm,
# frozen at gamma = 1, beta = 0 while its node searches (EdgeBNFreezeHook).
_base_ = ['./darts_cifar.py']

model = dict(
    type='SearchClassifier',
    backbone=dict(
        _delete_=True,
        type='ISTASuperNet',
        channels=36,
        layers=20,
        stem='cifar',
        affine=True,
        bn_append=True,
        with_aux_feature=True),
    head=dict(cal_acc=True))
