# The demo search (configs/ista/onestage_digits.py) under a parameter
# budget: the exported network keeps at most 36,000 parameters (auxiliary
# head excluded). Without the budget the demo exports 45,074; with it, the
# nodes whose recovered top-2 edges would break the budget keep cheaper
# edges (docs/en/user_guides/resource_budget.md shows both cells).
_base_ = ['./onestage_digits.py']

train_cfg = dict(stages=dict(recovery=dict(budget=dict(params=36_000))))
