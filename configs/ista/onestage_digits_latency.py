# The demo search (configs/ista/onestage_digits.py) under a latency budget:
# the exported network must run a 32x32 image in at most 0.39 ms with ONNX
# Runtime on one CPU thread, batch 1. That is 70% of the 0.55 ms (median)
# that the published one-stage cell at the demo's size
# (configs/nets/ista_onestage_digits.py) took on the CPU these docs were
# measured on; on another machine, measure that network first and set
# yours (docs/en/user_guides/latency_budget.md).
#
# When the search starts, the latency table of the network it exports is
# measured on this machine (a few seconds; saved as
# WORK_DIR/latency_table.json, read back on resume). After every recovery,
# the nodes whose top-2 edges would exceed the budget keep the edges that
# retain the most |z| within it, as the table predicts their latency. The
# export records the predicted and the measured latency
# (WORK_DIR/export/latency.json).
_base_ = ['./onestage_digits.py']

train_cfg = dict(
    stages=dict(
        recovery=dict(
            budget=dict(
                latency_ms=0.39,
                latency_table=dict(runtime='onnxruntime', threads=1)))))
