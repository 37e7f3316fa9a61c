# One-stage ISTA-NAS on ImageNet in the mobile setting: the network the
# search exports stays within 600M multiply-adds at 224x224, as counted by
# tools/analysis_tools/complexity.py on the export. Unconstrained, the
# published one-stage ImageNet cell measures 632M (configs/nets/
# ista_onestage_imagenet.py). After every recovery each searching node
# keeps the two edges that retain the most |z| within the budget (an exact
# multiple-choice knapsack; docs/en/method/resource_budget.md).
_base_ = ['./onestage_imagenet.py']

train_cfg = dict(
    stages=dict(recovery=dict(budget=dict(flops=600_000_000))))
