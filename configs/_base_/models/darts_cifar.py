# A DARTS-space network on 32x32 images: 20 cells, C = 36, auxiliary head on
# cell 13 (= 2 * 20 // 3: with_aux_feature) weighted 0.4; the main head reads
# the last cell (out_indices=(-1, ), the default). Cell outputs have
# 4 * 144 = 576 channels after the second reduction.
model = dict(
    type='ImageClassifier',
    backbone=dict(
        type='DerivedNet',
        genotype='ista_twostage_cifar10',
        channels=36,
        layers=20,
        stem='cifar',
        bn_append=False,
        with_aux_feature=True),
    neck=None,
    head=dict(
        type='DartsClsHead',
        num_classes=10,
        in_channels=576,
        aux_in_channels=576,
        aux_weight=0.4,
        aux_variant='cifar',
        loss=dict(type='CrossEntropyLoss', loss_weight=1.0),
        topk=(1, )),
)
