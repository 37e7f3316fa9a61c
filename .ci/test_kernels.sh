#!/usr/bin/env bash
# Reruns the numerics-sensitive tests (`pytest -m numerics`) with the
# numerical kernels of older CPUs, so that no assertion can depend on the
# kernels this machine happens to pick. Each variant caps every library that
# dispatches on the CPU: OpenBLAS (numpy, scipy), ATen's vectorised ops,
# MKL (torch's BLAS) and oneDNN (torch's convolutions).
#
#   bash .ci/test_kernels.sh            # every variant this CPU can run
#   PY=.venv/bin/python bash .ci/test_kernels.sh -x   # extra pytest args
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PY:-.venv/bin/python}

# nehalem: SSE4.2, the oldest x86-64 kernels OpenBLAS ships; runs anywhere.
NEHALEM="OPENBLAS_CORETYPE=Nehalem ATEN_CPU_CAPABILITY=default"
NEHALEM+=" MKL_ENABLE_INSTRUCTIONS=SSE4_2 ONEDNN_MAX_CPU_ISA=SSE41"
# haswell: AVX2 + FMA, what most machines without AVX-512 use.
HASWELL="OPENBLAS_CORETYPE=Haswell ATEN_CPU_CAPABILITY=avx2"
HASWELL+=" MKL_ENABLE_INSTRUCTIONS=AVX2 ONEDNN_MAX_CPU_ISA=AVX2"

variants=(nehalem)
if grep -qw avx2 /proc/cpuinfo 2>/dev/null; then
    variants+=(haswell)
else
    echo "test_kernels: this CPU has no AVX2; skipping the haswell variant"
fi

for variant in "${variants[@]}"; do
    case $variant in
        nehalem) settings=$NEHALEM ;;
        haswell) settings=$HASWELL ;;
    esac
    echo "== numerics tests, $variant kernels: $settings"
    # The pytest header prints the kernels in use; the check below fails
    # the run if OpenBLAS ignored the requested core type.
    # shellcheck disable=SC2086
    env $settings "$PY" - <<'PYEOF'
import os
import numpy  # noqa: F401  (loads OpenBLAS)
from threadpoolctl import threadpool_info
wanted = os.environ['OPENBLAS_CORETYPE'].lower()
found = [i.get('architecture', '') for i in threadpool_info()
         if i['internal_api'] == 'openblas']
if not found or any(arch.lower() != wanted for arch in found):
    raise SystemExit(f'OpenBLAS runs {found}, not {wanted}')
PYEOF
    # shellcheck disable=SC2086
    env $settings "$PY" -m pytest tests -m numerics -p no:cacheprovider "$@"
done
