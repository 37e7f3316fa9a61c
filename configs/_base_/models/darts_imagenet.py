# A DARTS-space network on 224x224 images: ImageNet stem, 14 cells, C = 48,
# auxiliary head on cell 9 (= 2 * 14 // 3) weighted 0.4, label smoothing 0.1.
# Cell outputs have 4 * 192 = 768 channels after the second reduction.
model = dict(
    type='ImageClassifier',
    backbone=dict(
        type='DerivedNet',
        genotype='ista_onestage_imagenet',
        channels=48,
        layers=14,
        stem='imagenet',
        bn_append=True,
        out_indices=(9, 13)),
    neck=None,
    head=dict(
        type='DartsClsHead',
        num_classes=1000,
        in_channels=768,
        aux_in_channels=768,
        aux_weight=0.4,
        aux_variant='imagenet',
        loss=dict(
            type='LabelSmoothLoss', label_smooth_val=0.1, loss_weight=1.0),
        topk=(1, 5)),
)
