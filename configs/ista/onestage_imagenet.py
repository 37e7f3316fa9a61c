# One-stage ISTA-NAS directly on ImageNet (docs/en/method/onestage.md):
# ImageNet stem, 14 cells, C = 48, the full train set (data/imagenet/train,
# val), total batch 1024 (8 GPUs x 128: bash tools/dist_train.sh CONFIG 8),
# label smoothing 0.1, auxiliary weight 0.4,
# RandomResizedCrop/flip/ColorJitter, val Resize 256 + CenterCrop 224,
# top-1/top-5. 250 epochs of evaluation training follow the search; the
# absorbed network lands in WORK_DIR/export/.
_base_ = [
    '../_base_/models/ista_onestage_imagenet.py',
    '../_base_/datasets/imagenet_bs128_darts.py',
    '../_base_/schedules/ista_onestage_imagenet.py',
    '../_base_/default_runtime.py',
]

# Synchronised BatchNorm across GPUs: sync_bn = 'torch' (or
# --cfg-options sync_bn=torch). Off by default, as in the paper.
sync_bn = None
