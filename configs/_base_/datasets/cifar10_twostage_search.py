# CIFAR-10 for two-stage search (docs/en/method/twostage.md): the official
# train set in two halves, in file order as the reference code splits it. The
# first half trains the network weights (runner's train_dataloader), the second
# trains the architecture (the loop's arch_dataloader) and is also the
# validation set of the search. Pad-4 crop and flip, the reference's mean and
# std, no cutout (its search script, main_search.sh, passes no --cutout);
# batch 256.
_base_ = ['./cifar10_bs96_cutout.py']

data_preprocessor = dict(
    _delete_=True,
    type='ClsDataPreprocessor',
    num_classes=10,
    mean={{_base_.data_preprocessor.mean}},
    std={{_base_.data_preprocessor.std}},
    to_rgb=False)

search_pipeline = [
    dict(type='RandomCrop', crop_size=32, padding=4),
    dict(type='RandomFlip', prob=0.5, direction='horizontal'),
    dict(type='PackInputs'),
]
cifar10_train = dict(
    type='CIFAR10', data_root='data/cifar10', split='train', download=False)

# KFoldDataset with 2 splits and fold 1: test_mode=False keeps the first
# half, test_mode=True the second.
train_dataloader = dict(
    batch_size=256,
    dataset=dict(
        _delete_=True,
        type='KFoldDataset',
        dataset=dict(**cifar10_train, pipeline=search_pipeline),
        num_splits=2,
        fold=1,
        test_mode=False))
arch_dataloader = dict(
    batch_size=256,
    num_workers=4,
    dataset=dict(
        type='KFoldDataset',
        dataset=dict(**cifar10_train, pipeline=search_pipeline),
        num_splits=2,
        fold=1,
        test_mode=True),
    sampler=dict(type='DefaultSampler', shuffle=True))
val_dataloader = dict(
    batch_size=256,
    dataset=dict(
        _delete_=True,
        type='KFoldDataset',
        dataset=dict(**cifar10_train, pipeline={{_base_.test_pipeline}}),
        num_splits=2,
        fold=1,
        test_mode=True))
val_evaluator = [
    dict(type='Accuracy', topk=(1, )),
    dict(type='CrossEntropyMetric'),
]
test_dataloader = val_dataloader
test_evaluator = val_evaluator
