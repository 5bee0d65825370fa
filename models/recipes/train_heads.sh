#!/bin/sh
# Trains the bundled task heads of models/nlpipe-bert-mini with `nlpipe train` and
# scores each on its dev set with `nlpipe eval` (the numbers in MODEL_CARD.md).
#   sh models/recipes/train_heads.sh [TASK ...]      (from the repository root)
# TASK: sentiment-ft qa-ft sentiment subjectivity subjectivity-ft ner summarization ner-ft ner-sst2 (default:
# all, the two long fine-tunings first; ner-sst2 needs sentiment-ft's encoder, so it runs
# alone after the tasks before it).
# Two trainings run side by side (one thread each) on a 2-core machine; THREADS=N gives
# each training N BLIS threads instead (the shipped qa-ft ran alone with THREADS=2: the
# same seed and thread count give the same bits). Reads the
# data from ../shared/data through the task definitions in tasks/; seeds are fixed
# there. Writes heads/<name>/ and puts one JSON line per head (its score, replacing the
# head's old line) into models/nlpipe-bert-mini/heads/eval.jsonl.
# SENTIMENT_BACKBONE=DIR fine-tunes sentiment-ft from DIR instead of the shipped backbone: the
# shipped head started from the sentiment-domain pretraining of stage 5
# (/work/scratch/pretrain5/export, see README.md). The heads in SOUPS are each the mean
# of several runs (train_soup below).
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

# The heads in SOUPS (default "sentiment-ft subjectivity-ft ner-ft") are uniform soups:
# the element-wise mean (`nlpipe average`) of runs that differ only in
# training.data_seed, SOUP_SEEDS (default "1 2 3 4 5 6"), each kept in
# $SOUP_DIR/<head>/ds<N> (default /work/scratch/soup), so an interrupted soup resumes
# where it stopped. Two runs at a time, one thread each (beside the task it is paired
# with: the soups and qa-ft are best run alone, one after the other).
SOUPS=${SOUPS:-sentiment-ft subjectivity-ft ner-ft}
SOUP_DIR=${SOUP_DIR:-/work/scratch/soup}
ingredient() {
  [ -f "$SOUP_DIR/$1/ds$2/head.json" ] && return 0
  # shellcheck disable=SC2086 # $from is empty or two words
  "$NLPIPE" train "$(config "$1")" --data-seed "$2" --output "$SOUP_DIR/$1/ds$2" --threads 1 $from \
    > "/tmp/nlpipe-heads-logs/$1-ds$2.log" 2>&1
}
# (sh has no local variables: the names here are the soup's own, so that a soup run
# beside another task does not overwrite the pid the main loop waits for)
train_soup() {
  soup=$1
  set -- ${SOUP_SEEDS:-1 2 3 4 5 6}
  soup_dirs=""
  for s in "$@"; do soup_dirs="$soup_dirs $SOUP_DIR/$soup/ds$s"; done
  while [ $# -gt 0 ]; do
    ingredient "$soup" "$1" &
    soup_pid=$!
    if [ $# -gt 1 ]; then ingredient "$soup" "$2"; shift; fi
    wait $soup_pid
    shift
  done
  # shellcheck disable=SC2086 # one folder per data seed
  "$NLPIPE" average --output "$HEADS/$soup" $soup_dirs
}

# One task: train, store fine-tuned layers in F16 like the base model, score.
run_task() {
  t=$1
  log=/tmp/nlpipe-heads-logs/$t.log
  start=$(date +%s)
  from=""
  [ "$t" = sentiment-ft ] && [ -n "${SENTIMENT_BACKBONE:-}" ] && from="--backbone $SENTIMENT_BACKBONE"
  if echo " $SOUPS " | grep -q " $t "; then
    train_soup "$t" > "$log" 2>&1
  else
    # shellcheck disable=SC2086 # $from is empty or two words
    "$NLPIPE" train "$(config "$t")" --threads "${THREADS:-1}" $from > "$log" 2>&1
  fi
  if [ -f "$HEADS/$t/backbone/model.safetensors" ]; then
    /usr/bin/python3 models/recipes/to_f16.py "$HEADS/$t/backbone/model.safetensors" >> "$log"
  fi
  secs=$(( $(date +%s) - start ))
  "$NLPIPE" eval "$HEADS/$t" "$(dev_set "$t")" --json > "/tmp/nlpipe-heads-logs/$t.eval.json"
  printf '{"head":"%s","train_seconds":%s,"eval":%s}\n' "$t" "$secs" \
    "$(cat /tmp/nlpipe-heads-logs/$t.eval.json)" > "/tmp/nlpipe-heads-logs/$t.line"
  echo "$t done in ${secs}s: $(cat /tmp/nlpipe-heads-logs/$t.eval.json)"
}

tasks=${*:-"sentiment-ft qa-ft sentiment subjectivity subjectivity-ft ner summarization ner-ft ner-sst2"}
# Pair the tasks up: two at a time, one per core; ner-sst2 trains on sentiment-ft's
# encoder, so it runs alone, after the tasks before it.
set -- $tasks
while [ $# -gt 0 ]; do
  if [ "$1" = ner-sst2 ] || [ $# -eq 1 ] || [ "$2" = ner-sst2 ]; then
    run_task "$1"
  else
    run_task "$1" &
    a=$!
    run_task "$2"
    wait $a
    shift
  fi
  shift
done
# heads/eval.jsonl keeps one line per head: the new ones replace the old
for t in $tasks; do
  [ -f "/tmp/nlpipe-heads-logs/$t.line" ] || continue
  grep -v "^{\"head\":\"$t\"," "$HEADS/eval.jsonl" > "$HEADS/eval.jsonl.tmp" || true
  cat "/tmp/nlpipe-heads-logs/$t.line" >> "$HEADS/eval.jsonl.tmp"
  mv "$HEADS/eval.jsonl.tmp" "$HEADS/eval.jsonl"
  rm "/tmp/nlpipe-heads-logs/$t.line"
done
