# The demo search (configs/ista/onestage_digits.py) under a latency budget:
# the exported network must run a 32x32 image in at most 0.51 ms with ONNX
# Runtime on one CPU thread, batch 1, on the CPU of the latency table it
# reads. That is 70% of the 0.73 ms (median) that the published one-stage
# cell at the demo's size (configs/nets/ista_onestage_digits.py) took on
# that CPU, the one these docs were measured on.
#
# The table (configs/latency_tables/) was built there with
# tools/analysis_tools/latency_table.py and corrected on 23 whole networks
# with tools/analysis_tools/latency_check.py --corrected; the search
# predicts the latency on that CPU wherever it runs. For your own device,
# build and correct a table there and give it here, or run with
# --measure-latency-table to measure one on the machine the search runs on
# (docs/en/user_guides/latency_budget.md).
# After every recovery, the nodes whose top-2 edges would exceed the budget
# keep the edges that retain the most |z| within it. The export records the
# predicted latency and, on the table's CPU, the measured one
# (WORK_DIR/export/latency.json).
_base_ = ['./onestage_digits.py']

train_cfg = dict(
    stages=dict(
        recovery=dict(
            budget=dict(
                latency_ms=0.51,
                latency_table=('../latency_tables/'
                               'onestage_digits_onnxruntime_1thread.json')))))
