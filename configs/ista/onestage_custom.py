# One-stage ISTA-NAS on your own images
# (docs/en/user_guides/custom_dataset.md).
# Lay them out as mmpretrain's CustomDataset reads a folder:
#   data_root/train/<class>/*.jpg|png...   data_root/val/<class>/*.jpg|png...
# (or list them in annotation files: set train_dataloader.dataset.ann_file
# and val_dataloader.dataset.ann_file). Edit the five variables below; the
# rest follows from them. tools/train.py checks the folders before it starts.
data_root = 'data/custom'
num_classes = 10
image_size = 32  # the side the images are cropped to
batch_size = 64
# 'small' (5 cells, C = 8): minutes to hours on a CPU; 'paper': the paper's
# network (20 cells, C = 36; from 128 px 14 cells, C = 48), for a GPU.
network_size = 'small'

_base_ = [
    '../_base_/models/ista_onestage_cifar.py',
    '../_base_/schedules/ista_onestage_cifar.py',
    '../_base_/default_runtime.py',
]

# Derived (no need to edit). From 128 px on, the ImageNet stem (stride 8);
# below, the CIFAR stem. (C, cells) per network size and stem: the paper's
# ImageNet and CIFAR networks, or 5 cells of C = 8 (the digits demo's) with
# either stem. A cell outputs 4 nodes, and the channels double at each of
# the two reductions.
large_images = image_size >= 128
stem = 'imagenet' if large_images else 'cifar'
network_sizes = dict(
    paper=dict(imagenet=(48, 14), cifar=(36, 20)),
    small=dict(imagenet=(8, 5), cifar=(8, 5)))
channels, layers = network_sizes[network_size][stem]
head_channels = 4 * channels * 4
# The auxiliary head reads cell 2 * layers // 3 (the second reduction),
# downsampled 4x (CIFAR stem) or 32x (ImageNet stem); its 5x5 pool needs an
# 8x8 map (CIFAR variant, stride 3) or 7x7 (ImageNet variant, stride 2:
# from 224 px).
aux_size = image_size // (32 if large_images else 4)
aux_weight = 0.4 if aux_size >= (7 if large_images else 8) else 0.
model = dict(
    backbone=dict(
        channels=channels,
        layers=layers,
        stem=stem),
    head=dict(
        num_classes=num_classes,
        in_channels=head_channels,
        aux_in_channels=head_channels,
        aux_weight=aux_weight,
        aux_variant=stem,
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
train_dataloader = dict(
    batch_size=batch_size,
    num_workers=2,
    dataset=dict(
        type='CustomDataset',
        data_root=data_root,
        data_prefix='train',
        pipeline=train_pipeline),
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
# b's Adam learning rate follows the iterations per epoch of your data, so
# that an epoch moves b as far as the reference's CIFAR-10 epoch does, and
# the termination threshold follows how far b moved
# (docs/en/method/onestage.md#the-termination-rule-on-any-data).
train_cfg = dict(stages=dict(termination=dict(scale_arch_lr=True)))
