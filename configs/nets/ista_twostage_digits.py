# A two-stage ISTA-NAS genotype retrained on the embedded digits at the
# demo's CPU-friendly size (5 cells, C = 8): the evaluation base of
# configs/ista/twostage_digits.py searches (tools/genotype_to_config.py
# --base). Two-stage networks keep the parameter-free ops without BN.
_base_ = ['./ista_onestage_digits.py']

model = dict(backbone=dict(genotype='ista_twostage_cifar10', bn_append=False))
