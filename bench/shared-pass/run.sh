#!/bin/sh
# Cost of sharing one encoder pass: a 3-step pipeline (classification + NER +
# extractive summarization on one backbone) against a single classification step, on
# the same input, release build. Prints one JSON line per measurement (median of RUNS
# wall-clock runs, default 5) and a final line with the ratio.
# Usage: bench/shared-pass/run.sh [DOCS] [RUNS]
set -eu
cd "$(dirname "$0")/../.."
DOCS=${1:-2000}; RUNS=${2:-5}
ninja -j2 build/nlpipe build/plugins/libnlpipe-classification.so build/plugins/libnlpipe-sentiment.so \
  build/plugins/libnlpipe-summarization.so >/dev/null
# The bundled model with its trained heads, as the default pipeline runs it: the
# encoder fine-tuned on SST-2 with the sentiment and NER heads trained on it.
heads=$(pwd)/models/nlpipe-bert-mini/heads
model=$heads/sentiment-ft/backbone
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
i=0
while [ $i -lt "$DOCS" ]; do
  echo "Record $i. The committee approved the budget for the new library, and construction starts in spring. Rain is expected tomorrow across the northern region, with strong winds near the coast. Our team won the final match after a long season of hard training. Prices rose sharply in March, but analysts expect them to fall again soon."
  i=$((i + 1))
done > "$tmp/input.txt"
m="\"models\": {\"m\": \"$model\"}"
cls="{\"name\": \"c\", \"plugin\": \"classification\", \"model\": \"m\", \"head\": \"$heads/sentiment-ft\"}"
echo "{$m, \"steps\": [$cls]}" > "$tmp/one.json"
echo "{$m, \"steps\": [$cls,
  {\"name\": \"e\", \"plugin\": \"ner\", \"model\": \"m\", \"head\": \"$heads/ner-sst2\"},
  {\"name\": \"x\", \"plugin\": \"summarization\", \"model\": \"m\", \"options\": {\"num_sentences\": 2}}]}" > "$tmp/three.json"
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
measure() { # label pipeline-file -> JSON line on stdout, median in $tmp/<file>.med
  r=0; : > "$tmp/times"
  while [ $r -lt "$RUNS" ]; do
    s=$(date +%s.%N)
    build/nlpipe run "$tmp/$2" --input "$tmp/input.txt" --output /dev/null 2> "$tmp/err"
    e=$(date +%s.%N)
    echo "$e - $s" | bc >> "$tmp/times"
    r=$((r + 1))
  done
  passes=$(sed -n 's/.* \([0-9]*\) encoder passes.*/\1/p' "$tmp/err")
  med=$(median < "$tmp/times")
  echo "$med" > "$tmp/$2.med"
  echo "{\"bench\": \"shared-pass\", \"pipeline\": \"$1\", \"docs\": $DOCS, \"runs\": $RUNS, \"median_s\": $med, \"encoder_passes\": ${passes:-null}, \"model\": \"$(basename "$model")\"}"
}
measure classification one.json
measure classification+ner+summarization three.json
echo "{\"bench\": \"shared-pass\", \"ratio_3_steps_vs_1\": $(echo "scale=3; $(cat "$tmp/three.json.med") / $(cat "$tmp/one.json.med")" | bc), \"limit\": 1.2}"
