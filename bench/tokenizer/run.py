#!/usr/bin/env python3
"""Tokenizer throughput on English prose: nlpipe (build/nlpipe tokenize --quiet) vs the
npm `tokenizers` (HF Rust core) and transformers.js, same tokenizer files, same input,
same run; one JSON line per measurement (median of PASSES runs), then the ratios.

  python3 bench/tokenizer/run.py [--input FILE] [--passes 5]
Env: NLPIPE_SHARED_DATA (default ../shared/data), HF_TOKENIZERS_DIR (folder with
node_modules/tokenizers), TJS_DIR (folder with node_modules/@huggingface/transformers).
Single core: nlpipe is single-threaded; peers run with RAYON_NUM_THREADS=1."""
import argparse, json, os, statistics, subprocess, sys

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), '..', '..'))
ap = argparse.ArgumentParser()
shared = os.environ.get('NLPIPE_SHARED_DATA', os.path.join(ROOT, '..', 'shared', 'data'))
ap.add_argument('--input', default=os.path.join(shared, 'corpora', 'state_union.txt'))
ap.add_argument('--passes', type=int, default=5)
ap.add_argument('--peers', default='hf-tokenizers,transformers.js')
a = ap.parse_args()
toks = {'wordpiece': os.path.join(shared, 'tokenizers', 'bert-base-uncased'),
        'bytelevel-bpe': os.path.join(shared, 'tokenizers', 'gpt2')}
env = dict(os.environ, RAYON_NUM_THREADS='1', TOKENIZERS_PARALLELISM='false', OMP_NUM_THREADS='1')
results = {}
for kind, d in toks.items():
    runs = []
    for _ in range(a.passes):
        with open(a.input, 'rb') as f:
            p = subprocess.run([os.path.join(ROOT, 'build', 'nlpipe'), 'tokenize', d, '--quiet'], stdin=f,
                               capture_output=True, env=env)
        if p.returncode != 0:
            sys.exit(p.stderr.decode())
        runs.append(json.loads(p.stderr.decode().strip().splitlines()[-1]))
    s = statistics.median(r['seconds'] for r in runs)
    r0 = runs[0]
    line = {'engine': 'nlpipe', 'model': kind, 'tokenizer': os.path.basename(d), 'input': os.path.basename(a.input),
            'bytes': r0['bytes'], 'tokens': r0['tokens'], 'passes': [r['seconds'] for r in runs], 'seconds': s,
            'mb_per_s': r0['bytes'] / 1e6 / s, 'tokens_per_s': r0['tokens'] / s, 'threads': 1,
            'mb_per_cpu_s': statistics.median(r['mb_per_cpu_s'] for r in runs)}
    print(json.dumps(line), flush=True)
    results[(kind, 'nlpipe')] = line
    for peer in [x for x in a.peers.split(',') if x]:
        p = subprocess.run(['node', os.path.join(ROOT, 'bench', 'tokenizer', 'peers.mjs'), peer, d, a.input, str(a.passes)],
                           capture_output=True, env=env, text=True)
        if p.returncode != 0:
            print(json.dumps({'engine': peer, 'model': kind, 'error': p.stderr.strip()[-300:]}), flush=True)
            continue
        line = json.loads(p.stdout.strip().splitlines()[-1])
        line.update(model=kind, threads=1)
        print(json.dumps(line), flush=True)
        results[(kind, peer)] = line
for (kind, eng), r in results.items():
    if eng == 'nlpipe':
        continue
    base = results[(kind, 'nlpipe')]
    print(json.dumps({'ratio': f'nlpipe/{eng}', 'model': kind, 'mb_per_s_ratio': round(base['mb_per_s'] / r['mb_per_s'], 2),
                      'mb_per_cpu_s_ratio': round(base['mb_per_cpu_s'] / r['mb_per_cpu_s'], 2),
                      'token_count_nlpipe': base['tokens'], 'token_count_peer': r['tokens']}))
