#!/bin/sh
# Trains the bundled task heads of models/nlpipe-bert-mini with `nlpipe train` and
# scores each on its dev set with `nlpipe eval` (the numbers in MODEL_CARD.md).
#   sh models/recipes/train_heads.sh [TASK ...]      (from the repository root)
# TASK: sentiment-ft qa-ft sentiment subjectivity subjectivity-ft ner summarization ner-ft ner-sst2 (default:
# all, the two long fine-tunings first; ner-sst2 needs sentiment-ft's encoder, so it comes last).
# Two trainings run side by side (one thread each) on a 2-core machine; THREADS=N gives
# each training N BLIS threads instead (the shipped qa-ft ran alone with THREADS=2: the
# same seed and thread count give the same bits). Reads the
# data from ../shared/data through the task definitions in tasks/; seeds are fixed
# there. Writes heads/<name>/ and appends one JSON line per score to
# models/nlpipe-bert-mini/heads/eval.jsonl.
# SENTIMENT_BACKBONE=DIR fine-tunes sentiment-ft from DIR instead of the shipped backbone: the
# shipped head started from the sentiment-domain pretraining of stage 5
# (/work/scratch/pretrain5/export, see README.md).
set -eu
cd "$(dirname "$0")/../.."
NLPIPE=build/nlpipe
DATA=${NLPIPE_SHARED_DATA:-../shared/data}
HEADS=models/nlpipe-bert-mini/heads
mkdir -p "$HEADS" /tmp/nlpipe-heads-logs
[ -x "$NLPIPE" ] || { ./configure && ninja; }

config() {
  case $1 in
    sentiment) echo tasks/sentiment/train.json ;;
    sentiment-ft) echo tasks/sentiment/finetune.json ;;
    subjectivity) echo tasks/subjectivity/train.json ;;
    subjectivity-ft) echo tasks/subjectivity/finetune.json ;;
    ner) echo tasks/ner/train.json ;;
    ner-ft) echo tasks/ner/finetune.json ;;
    ner-sst2) echo tasks/ner/on-sentiment-ft.json ;;
    qa-ft) echo tasks/qa/finetune.json ;;
    summarization) echo tasks/summarization/train.json ;;
  esac
}
dev_set() {
  case $1 in
    sentiment*) echo "$DATA/sentiment/sst2/dev.jsonl" ;;
    subjectivity*) echo "$DATA/classification/subjectivity/dev.jsonl" ;;
    ner*) echo "$DATA/ner/wikigold/dev.jsonl" ;;
    qa*) echo "$DATA/qa/dev.jsonl" ;;
    summarization) echo "$DATA/summarization/dev.jsonl" ;;
  esac
}

# One task: train, store fine-tuned layers in F16 like the base model, score.
run_task() {
  t=$1
  log=/tmp/nlpipe-heads-logs/$t.log
  start=$(date +%s)
  from=""
  [ "$t" = sentiment-ft ] && [ -n "${SENTIMENT_BACKBONE:-}" ] && from="--backbone $SENTIMENT_BACKBONE"
  # shellcheck disable=SC2086 # $from is empty or two words
  "$NLPIPE" train "$(config "$t")" --threads "${THREADS:-1}" $from > "$log" 2>&1
  if [ -f "$HEADS/$t/backbone/model.safetensors" ]; then
    /usr/bin/python3 models/recipes/to_f16.py "$HEADS/$t/backbone/model.safetensors" >> "$log"
  fi
  secs=$(( $(date +%s) - start ))
  "$NLPIPE" eval "$HEADS/$t" "$(dev_set "$t")" --json > "/tmp/nlpipe-heads-logs/$t.eval.json"
  printf '{"head":"%s","train_seconds":%s,"eval":%s}\n' "$t" "$secs" \
    "$(cat /tmp/nlpipe-heads-logs/$t.eval.json)" >> "$HEADS/eval.jsonl"
  echo "$t done in ${secs}s: $(cat /tmp/nlpipe-heads-logs/$t.eval.json)"
}

tasks=${*:-"sentiment-ft qa-ft sentiment subjectivity subjectivity-ft ner summarization ner-ft ner-sst2"}
# Pair the tasks up: two at a time, one per core.
set -- $tasks
while [ $# -gt 0 ]; do
  run_task "$1" &
  a=$!
  if [ $# -gt 1 ]; then run_task "$2"; shift; fi
  wait $a
  shift
done
