# A DARTS-space network on 32x32 images: 20 cells, C = 36, auxiliary head on
# cell 13 (= 2 * 20 // 3) weighted 0.4. Cell outputs have 4 * 144 = 576
# channels after the second reduction.
model = dict(
    type='ImageClassifier',
    backbone=dict(
        type='DerivedNet',
        genotype='ista_twostage_cifar10',
        channels=36,
        layers=20,
        stem='cifar',
        bn_append=False,
        out_indices=(13, 19)),
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
