# CIFAR-10 as the reference code trains its CIFAR networks
# (cifar10_transforms and Cutout in ista_nas/utils.py of iboing/ISTA-NAS,
# with --cutout): pad-4 random crop, flip, normalisation with the
# reference's mean and std, then cutout 16 of the normalised image, whose
# patch is therefore the mean colour. The cutout runs in the data
# preprocessor, on the whole batch (docs/en/notes/reference_differences.md);
# data_preprocessor.cutout_pad_val=0 paints the patch black instead, as
# mmpretrain's Cutout(pad_val=0) on raw pixels does.
# Put the official python-version files under data/cifar10/ (no download at
# run time; mmpretrain checks their md5).
dataset_type = 'CIFAR10'
data_preprocessor = dict(
    type='CutoutClsDataPreprocessor',
    num_classes=10,
    # 255 x the reference's (0.49139968, 0.48215827, 0.44653124) and
    # (0.24703233, 0.24348505, 0.26158768), RGB
    mean=[125.3069184, 122.95035885, 113.8654662],
    std=[62.99324415, 62.08868775, 66.7048584],
    to_rgb=False,
    cutout_shape=16,
    cutout_pad_val=None)

train_pipeline = [
    dict(type='RandomCrop', crop_size=32, padding=4),
    dict(type='RandomFlip', prob=0.5, direction='horizontal'),
    dict(type='PackInputs'),
]
test_pipeline = [dict(type='PackInputs')]

train_dataloader = dict(
    batch_size=96,
    num_workers=4,
    dataset=dict(
        type=dataset_type,
        data_root='data/cifar10',
        split='train',
        download=False,
        pipeline=train_pipeline),
    sampler=dict(type='DefaultSampler', shuffle=True),
)
val_dataloader = dict(
    batch_size=96,
    num_workers=4,
    dataset=dict(
        type=dataset_type,
        data_root='data/cifar10',
        split='test',
        download=False,
        pipeline=test_pipeline),
    sampler=dict(type='DefaultSampler', shuffle=False),
)
val_evaluator = dict(type='Accuracy', topk=(1, ))
test_dataloader = val_dataloader
test_evaluator = val_evaluator
