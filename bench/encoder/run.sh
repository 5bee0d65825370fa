#!/usr/bin/env bash
# The encoder benchmark matrix: batch 1/32 x threads 1/2 for nlpipe, torch and ort,
# in the same run, on the peers' BERT-base-sized model (see README.md).
#   PEERS=/work/scratch/peers bash bench/encoder/run.sh
# Env knobs: PEERS (a writable copy of ../shared/bench/peers, set up, with
# models/$SIZE), SIZE (base), LIMIT (256 sentences), PASSES (3), THREADS ("1 2"),
# BATCHES ("1 32"), CHECK (1), ENGINES ("nlpipe ort torch"; also nlpipe-batches = one worker per thread
# instead of threads inside each batch, and nlpipe-base = NLPIPE_BASE, another build, the same way), OUT (results file, JSON lines).
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../.." && pwd)
PEERS=${PEERS:-/work/scratch/peers}
SIZE=${SIZE:-base}
LIMIT=${LIMIT:-256}
PASSES=${PASSES:-3}
THREADS=${THREADS:-"1 2"}
BATCHES=${BATCHES:-"1 32"}
ENGINES=${ENGINES:-"nlpipe ort torch"}
OUT=${OUT:-$here/results-$(date -u +%Y%m%dT%H%M%SZ).jsonl}
model=$PEERS/models/$SIZE
ref=$PEERS/ref/$SIZE.fp32.jsonl
# CHECK=0 skips the parity check (the reference covers only the first LIMIT sentences it was made for)
check=(); [[ ${CHECK:-1} = 1 && -f $ref ]] && check=(--check "$ref")
echo "writing $OUT" >&2
# the sgemm peak of this machine, same run: 1024^3 and the encoder's shapes, BLIS and the
# prepacked Linear, 1 and 2 threads
gcc -O2 -march=x86-64-v3 -fopenmp -I"$root/core" -I/usr/include/x86_64-linux-gnu "$here/sgemm_peak.c" \
  "$root/core/tensor/gemm.c" "$root/core/tensor/packed-linear.c" -lblis -lpthread -o "$root/build/sgemm-peak"
"$root/build/sgemm-peak" | tee -a "$OUT"
for t in $THREADS; do
  for b in $BATCHES; do
    for e in $ENGINES; do
      echo "== $SIZE threads=$t batch=$b $e (load $(cut -d' ' -f1 /proc/loadavg))" >&2
      case $e in
        nlpipe) cmd=(/usr/bin/python3 "$here/bench_nlpipe.py" --peers "$PEERS") ;;
        nlpipe-batches) cmd=(/usr/bin/python3 "$here/bench_nlpipe.py" --peers "$PEERS" --split batches) ;;
        nlpipe-base) cmd=(/usr/bin/python3 "$here/bench_nlpipe.py" --peers "$PEERS" --nlpipe "$NLPIPE_BASE") ;;
        torch) cmd=(/usr/bin/python3 "$PEERS/bench_torch.py") ;;
        ort) cmd=(node "$PEERS/bench_ort.mjs") ;;
      esac
      (cd "$PEERS" && "${cmd[@]}" "$model" "$PEERS/sentences.txt" "$b" "$t" --passes "$PASSES" \
         --limit "$LIMIT" "${check[@]}") | tail -n 1 | tee -a "$OUT"
    done
  done
done
/usr/bin/python3 "$here/table.py" "$OUT"
