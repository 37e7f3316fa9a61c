# One-stage search network on ImageNet (docs/en/method/onestage.md): the target
# network of darts_imagenet.py (ImageNet stem, 14 cells, C = 48, auxiliary head
# on cell 9, label smoothing 0.1) as an ISTA super-net with BN-appended ops.
_base_ = ['./darts_imagenet.py']

model = dict(
    type='SearchClassifier',
    backbone=dict(
        _delete_=True,
        type='ISTASuperNet',
        channels=48,
        layers=14,
        stem='imagenet',
        affine=True,
        bn_append=True,
        with_aux_feature=True),
    head=dict(cal_acc=True))
