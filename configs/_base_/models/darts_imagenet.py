# The DARTS-space network of darts_cifar.py on 224x224 images: ImageNet stem,
# 14 cells, C = 48, auxiliary head on cell 9 (= 2 * 14 // 3) weighted 0.4,
# label smoothing 0.1. Cell outputs have 4 * 192 = 768 channels after the
# second reduction.
_base_ = ['./darts_cifar.py']

model = dict(
    backbone=dict(
        genotype='ista_onestage_imagenet',
        channels=48,
        layers=14,
        stem='imagenet',
        bn_append=True,
        with_aux_feature=True),
    head=dict(
        num_classes=1000,
        in_channels=768,
        aux_in_channels=768,
        aux_variant='imagenet',
        loss=dict(
            _delete_=True,
            type='LabelSmoothLoss',
            label_smooth_val=0.1,
            loss_weight=1.0),
        topk=(1, 5)),
)
