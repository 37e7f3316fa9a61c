# Two-stage ISTA-NAS search on CIFAR-10 (paper Algorithm 1;
# docs/en/method/twostage.md): an 8-cell, C = 16 super-net, one half of the
# train set for the weights and the other for b, 50 epochs, batch 256, a
# recovery after every epoch. Put CIFAR-10's python files under data/cifar10/.
# The searched genotype lands in WORK_DIR/genotype.json; retrain it with
#   python tools/genotype_to_config.py WORK_DIR/genotype.json \
#       --out WORK_DIR/eval_config.py
#   python tools/train.py WORK_DIR/eval_config.py
_base_ = [
    '../_base_/models/ista_supernet_cifar.py',
    '../_base_/datasets/cifar10_twostage_search.py',
    '../_base_/schedules/ista_twostage_50e.py',
    '../_base_/default_runtime.py',
]
