# Two-stage ISTA-NAS search on your own images
# (docs/en/user_guides/custom_dataset.md): the train folder is split in two
# halves (weights, architecture), the val folder validates. Layout as
# mmpretrain's CustomDataset reads a folder:
#   data_root/train/<class>/*.jpg|png...   data_root/val/<class>/*.jpg|png...
# Edit the five variables below; the rest follows from them. The genotype
# lands in WORK_DIR/genotype.json; retrain it with tools/genotype_to_config.py.
data_root = 'data/custom'
num_classes = 10
image_size = 32  # the side the images are cropped to
batch_size = 64
# 'small' (5 cells, C = 8): minutes to hours on a CPU; 'paper': the paper's
# search super-net (8 cells, C = 16), for a GPU.
network_size = 'small'

_base_ = [
    '../_base_/models/ista_supernet_cifar.py',
    '../_base_/schedules/ista_twostage_50e.py',
    '../_base_/default_runtime.py',
]

# Derived (no need to edit). From 128 px on, the ImageNet stem (stride 8);
# below, the CIFAR stem. (C, cells) per network size, with either stem; a
# cell outputs 4 nodes, and the channels double at each of the two
# reductions.
large_images = image_size >= 128
stem = 'imagenet' if large_images else 'cifar'
network_sizes = dict(paper=(16, 8), small=(8, 5))
channels, layers = network_sizes[network_size]
model = dict(
    backbone=dict(channels=channels, layers=layers, stem=stem),
    head=dict(
        num_classes=num_classes,
        in_channels=4 * channels * 4,
        topk=(1, 5) if num_classes >= 5 else (1, )))

data_preprocessor = dict(
    num_classes=num_classes,
    mean=[123.675, 116.28, 103.53],
    std=[58.395, 57.12, 57.375],
    to_rgb=True)
# Grey, RGBA and 16-bit images are decoded to 8-bit RGB; images of any size
# are resized (small images) or crop-resized (large ones) to image_size.
if large_images:
    train_crop = [dict(type='RandomResizedCrop', scale=image_size)]
    test_resize = [
        dict(type='ResizeEdge', scale=image_size * 8 // 7, edge='short'),
        dict(type='CenterCrop', crop_size=image_size),
    ]
else:
    train_crop = [
        dict(type='Resize', scale=(image_size, image_size)),
        dict(type='RandomCrop', crop_size=image_size, padding=image_size // 8),
    ]
    test_resize = [dict(type='Resize', scale=(image_size, image_size))]
train_pipeline = [
    dict(type='LoadImageFromFile', color_type='color'),
    *train_crop,
    dict(type='RandomFlip', prob=0.5, direction='horizontal'),
    dict(type='PackInputs'),
]
test_pipeline = [
    dict(type='LoadImageFromFile', color_type='color'),
    *test_resize,
    dict(type='PackInputs'),
]
train_folder = dict(
    type='CustomDataset',
    data_root=data_root,
    data_prefix='train',
    pipeline=train_pipeline)
# KFoldDataset with 2 splits and fold 1: test_mode=False keeps the first
# half (weights), test_mode=True the second (architecture).
train_dataloader = dict(
    batch_size=batch_size,
    num_workers=2,
    dataset=dict(
        type='KFoldDataset',
        dataset=train_folder,
        num_splits=2,
        fold=1,
        test_mode=False),
    sampler=dict(type='DefaultSampler', shuffle=True))
arch_dataloader = dict(
    batch_size=batch_size,
    num_workers=2,
    dataset=dict(
        type='KFoldDataset',
        dataset=train_folder,
        num_splits=2,
        fold=1,
        test_mode=True),
    sampler=dict(type='DefaultSampler', shuffle=True))
val_dataloader = dict(
    batch_size=batch_size,
    num_workers=2,
    dataset=dict(
        type='CustomDataset',
        data_root=data_root,
        data_prefix='val',
        pipeline=test_pipeline),
    sampler=dict(type='DefaultSampler', shuffle=False))
val_evaluator = dict(type='Accuracy', topk=(1, 5) if num_classes >= 5 else 1)
test_dataloader = val_dataloader
test_evaluator = val_evaluator
