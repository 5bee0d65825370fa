#!/bin/sh
# Start (or with --resume, continue) the nlpipe-bert-mini MLM pretraining in the background.
#   sh models/recipes/run_pretrain.sh [--resume]        (from the repository root)
# One torch/OMP/BLIS thread, nice 10. FAST_MALLOC=1 keeps glibc malloc from returning big
# blocks to the kernel (MALLOC_MMAP_MAX_=0): ~10% faster (fewer page faults), but the heap
# fragments and RSS grew from 4.4 to 7+ GB in 25 min, so it is off by default.
# Writes /work/scratch/pretrain/{train.log,ckpt.pt,dev_report.json,nohup.out}.
set -e
OUT=${OUT:-/work/scratch/pretrain}
STEPS=${STEPS:-1000}
cd "$(dirname "$0")/../.."
export OMP_NUM_THREADS=1 BLIS_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 MKL_NUM_THREADS=1
if [ "${FAST_MALLOC:-0}" = 1 ]; then
    export MALLOC_MMAP_MAX_=0 MALLOC_TRIM_THRESHOLD_=100000000000
fi
setsid nohup nice -n 10 /usr/bin/python3 models/recipes/pretrain_mlm.py \
    --data "$OUT" --out "$OUT" --steps "$STEPS" --warmup 80 --batch 64 --lr 1e-3 \
    --seed 1234 --max-minutes 105 --ckpt-seconds 300 --log-every 10 "$@" \
    >> "$OUT/nohup.out" 2>&1 < /dev/null &
echo "pid $!"
