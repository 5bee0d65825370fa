#!/bin/sh
# Start (or with --resume, continue) the nlpipe-bert-mini MLM pretraining in the background.
#   sh models/recipes/run_pretrain.sh [--resume]            stage 1 (from the repository root)
#   STAGE=2 sh models/recipes/run_pretrain.sh [--resume]    stage 2, from stage 1's ckpt.pt
#   STAGE=3 sh models/recipes/run_pretrain.sh [--resume]    stage 3, from the committed export
#   STAGE=4 sh models/recipes/run_pretrain.sh [--resume]    stage 4, fresh, distributional start
#   STAGE=5 sh models/recipes/run_pretrain.sh [--resume]    stage 5, sentiment-domain, from the export
#   STAGE=6 sh models/recipes/run_pretrain.sh [--resume]    stage 6, stage 5's second round
# Stage 1: corpora only, one torch/OMP/BLIS thread, nice 10, <= 105 min.
# Stage 2: corpora + the train splits' unlabelled task text (prepare_data.py --stage 2),
#          two threads, <= 90 min, starting from stage 1's weights with a fresh schedule.
# Stage 3: stage 2's data (prepare_data.py --stage 2 --out /work/scratch/pretrain3), one
#          thread (robust while the machine does other work), batch 32 (twice the optimizer
#          steps for the same tokens), peak LR 5e-4 (a first try at 1e-3 raised the dev loss from
#          6.31 to 6.46 before it fell), <= 60 min, from the committed model.safetensors (f16).
# Stage 4: a fresh model whose word embeddings and MLM bias start from embed_init.py (PPMI-SVD
#          vectors, log unigram probabilities) on stage 2's data (OUT=/work/scratch/pretrain4),
#          two threads, batch 64, peak LR 1e-3, <= 95 min.
# Stage 5: task-adaptive pretraining of the committed (stage 4) model on the sentiment domain's
#          train text only (prepare_data.py --stage 5, OUT=/work/scratch/pretrain5), two threads,
#          batch 64, peak LR 2e-4 (low: a restart at 1e-3 first undid stage 3's gains), <= 30 min.
# Stage 6: stage 5's second round, from stage 5's export (/work/scratch/pretrain5/export) on its
#          text plus the SST-2 train phrases (prepare_data.py --stage 6), one thread (the
#          machine was training a QA head beside it), same LR, <= 45 min. Tried; the sentiment
#          head fine-tuned from it scored lower than stage 5's and was not kept.
# FAST_MALLOC=1 keeps glibc malloc from returning big blocks to the kernel
# (MALLOC_MMAP_MAX_=0): ~10% faster (fewer page faults), but the heap fragments and RSS
# grew from 4.4 to 7+ GB in 25 min, so it is off by default.
# Writes /work/scratch/pretrain{,2,3,4,5,6}/{train.log,ckpt.pt,dev_report.json,nohup.out}.
set -e
cd "$(dirname "$0")/../.."
S1=${S1:-/work/scratch/pretrain}
BATCH=64
if [ "${STAGE:-1}" = 6 ]; then
    OUT=${OUT:-/work/scratch/pretrain6}
    set -- --init /work/scratch/pretrain5/export/model.safetensors --threads 1 --steps "${STEPS:-600}" \
        --warmup 30 --lr 2e-4 --seed 1358 --max-minutes "${MINUTES:-45}" "$@"
elif [ "${STAGE:-1}" = 5 ]; then
    OUT=${OUT:-/work/scratch/pretrain5}
    set -- --init models/nlpipe-bert-mini/model.safetensors --threads 2 --steps "${STEPS:-800}" \
        --warmup 40 --lr 2e-4 --seed 1357 --max-minutes "${MINUTES:-30}" "$@"
elif [ "${STAGE:-1}" = 4 ]; then
    OUT=${OUT:-/work/scratch/pretrain4}
    set -- --embed-init "$OUT/embed_init.npz" --threads 2 --steps "${STEPS:-3000}" --warmup 100 \
        --lr 1e-3 --seed 2468 --max-minutes "${MINUTES:-95}" "$@"
elif [ "${STAGE:-1}" = 3 ]; then
    OUT=${OUT:-/work/scratch/pretrain3}
    BATCH=32
    set -- --init models/nlpipe-bert-mini/model.safetensors --threads 1 --steps "${STEPS:-2100}" \
        --warmup 60 --lr 5e-4 --seed 777 --max-minutes "${MINUTES:-60}" "$@"
elif [ "${STAGE:-1}" = 2 ]; then
    OUT=${OUT:-/work/scratch/pretrain2}
    set -- --init "$S1/ckpt.pt" --threads 2 --steps "${STEPS:-1600}" --warmup 60 --lr 1e-3 \
        --seed 4321 --max-minutes "${MINUTES:-90}" "$@"
else
    OUT=${OUT:-$S1}
    set -- --threads 1 --steps "${STEPS:-1000}" --warmup 80 --lr 1e-3 --seed 1234 \
        --max-minutes "${MINUTES:-105}" "$@"
fi
if [ "${FAST_MALLOC:-0}" = 1 ]; then
    export MALLOC_MMAP_MAX_=0 MALLOC_TRIM_THRESHOLD_=100000000000
fi
setsid nohup nice -n "${NICE:-10}" /usr/bin/python3 models/recipes/pretrain_mlm.py \
    --data "$OUT" --out "$OUT" --batch "$BATCH" --ckpt-seconds 300 --log-every 10 "$@" \
    >> "$OUT/nohup.out" 2>&1 < /dev/null &
echo "pid $!"
