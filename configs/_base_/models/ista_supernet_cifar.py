# The two-stage search super-net (docs/en/method/twostage.md): CIFAR stem, 8
# cells (reductions at 2 and 5), C = 16, BatchNorms without affine parameters
# and a non-affine BatchNorm after each pool (as the reference's two-stage
# super-net), m = 7, s = 2, lambda = 1e-5, no auxiliary head. Cell outputs have
# 4 * 64 = 256 channels after the second reduction. The dictionaries and
# initial b come from the run's seed (randomness.seed) unless arch_seed is an
# int.
model = dict(
    type='SearchClassifier',
    backbone=dict(
        type='ISTASuperNet',
        channels=16,
        layers=8,
        stem='cifar',
        steps=4,
        proj_dim=7,
        sparsity=2,
        lam=1e-5,
        solver='auto',
        arch_seed=None,
        affine=False,
        bn_append=False,
        pool_bn=True),
    neck=None,
    head=dict(
        type='DartsClsHead',
        num_classes=10,
        in_channels=256,
        aux_weight=0.,
        loss=dict(type='CrossEntropyLoss', loss_weight=1.0),
        topk=(1, ),
        cal_acc=True),
)
