#!/usr/bin/python3
"""nlpipe encoder benchmark, same interface and JSON line as the peers' benches
(../shared/bench/peers: bench_torch.py, bench_ort.mjs):

  bench_nlpipe.py MODEL_DIR INPUT.txt BATCH THREADS [--passes 3] [--warmup 64]
                  [--limit N] [--check REF.jsonl] [--nlpipe build/nlpipe] [--peers DIR]
                  [--split gemm|batches]

Each pass is one `nlpipe forward MODEL_DIR --output logits --batch-size B --threads T`
process fed the warm-up sentences then the input (file order, chunks of B, end to
end from text: tokenizer, forward, logits formatted as JSON). The timed part runs from
the moment the last warm-up result is read to the last result; the warm-up is a
whole number of work groups (B x T sentences with --split batches) so no timed
sentence rides in a warm-up group. `seconds` is the median pass.
Extras: time_to_first_result_s (process start to the first line, model load
included), peak_rss_mb (of the nlpipe process), model_file_mb, rss_ratio.
nlpipe does not pad: gflop counts the encoder FLOPs of the true sequence lengths
(per layer 2*L*(4h^2 + 2h*i) + 4*L^2*h), padded_tokens = tokens.
Token counts use the peers' wordpiece.py (same ids as the model's tokenizer.json).
"""
import argparse, json, os, resource, statistics, subprocess, sys, threading, time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.normpath(os.path.join(HERE, "..", ".."))


def run_pass(cmd, lines, n_warm):
    t0 = time.perf_counter()
    p = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, bufsize=1 << 20)

    def feed():
        p.stdin.write(("\n".join(lines) + "\n").encode())
        p.stdin.close()

    w = threading.Thread(target=feed)
    w.start()
    out, t_first, t_warm = [], None, t0
    for ln in p.stdout:
        if t_first is None:
            t_first = time.perf_counter() - t0
        out.append(ln)
        if len(out) == n_warm:
            t_warm = time.perf_counter()
    t_end = time.perf_counter()
    w.join()
    _, status, ru = os.wait4(p.pid, 0)
    if status != 0 or len(out) != len(lines):
        sys.exit(f"nlpipe failed (status {status}, {len(out)}/{len(lines)} lines): {' '.join(cmd)}")
    return t_end - t_warm, t_first, ru.ru_maxrss / 1024.0, out[n_warm:]


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("model_dir")
    ap.add_argument("input")
    ap.add_argument("batch", type=int)
    ap.add_argument("threads", type=int)
    ap.add_argument("--passes", type=int, default=3)
    ap.add_argument("--warmup", type=int, default=16)
    ap.add_argument("--limit", type=int, default=0)
    ap.add_argument("--check")
    ap.add_argument("--split", default="gemm")  # nlpipe forward's default
    ap.add_argument("--nlpipe", default=os.path.join(ROOT, "build", "nlpipe"))
    ap.add_argument("--peers", default=os.environ.get("PEERS", "/work/scratch/peers"))
    a = ap.parse_args()
    with open(a.input, encoding="utf-8") as f:
        texts = [ln.rstrip("\n") for ln in f if ln.strip()]
    if a.limit:
        texts = texts[: a.limit]
    group = a.batch * (a.threads if a.split == "batches" else 1)
    n_warm = max(a.warmup, group)
    n_warm = (n_warm + group - 1) // group * group
    warm = [texts[i % len(texts)] for i in range(n_warm)]
    cmd = [a.nlpipe, "forward", a.model_dir, "--output", "logits", "--batch-size", str(a.batch),
           "--threads", str(a.threads), "--split", a.split]
    times, firsts, rss, outs = [], [], [], None
    for _ in range(a.passes):
        dt, tf, r, out = run_pass(cmd, warm + texts, n_warm)
        times.append(dt), firsts.append(tf), rss.append(r)
        outs = outs or out
    sec = statistics.median(times)
    cfg = json.load(open(os.path.join(a.model_dir, "config.json")))
    sys.path.insert(0, a.peers)
    from wordpiece import BertTokenizer
    tok = BertTokenizer.from_dir(a.model_dir)
    lens = [len(tok.encode(x)) for x in texts]
    h, layers, inter = cfg["hidden_size"], cfg["num_hidden_layers"], cfg["intermediate_size"]
    flops = sum(layers * (2 * L * (4 * h * h + 2 * h * inter) + 4 * L * L * h) for L in lens)
    files = [os.path.join(a.model_dir, f) for f in os.listdir(a.model_dir) if f.endswith(".safetensors")]
    model_mb = sum(os.path.getsize(f) for f in files) / 2 ** 20
    res = {"engine": "nlpipe", "sentences": len(texts), "seconds": round(sec, 4),
           "sentences_per_s": round(len(texts) / sec, 2), "threads": a.threads, "batch": a.batch,
           "model": os.path.basename(os.path.normpath(a.model_dir)), "passes": [round(x, 4) for x in times],
           "tokens": sum(lens), "padded_tokens": sum(lens), "gflop": round(flops / 1e9, 3),
           "gflop_per_s": round(flops / 1e9 / sec, 2), "split": a.split,
           "binary": os.path.relpath(a.nlpipe, ROOT),
           "time_to_first_result_s": round(statistics.median(firsts), 4),
           "peak_rss_mb": round(max(rss), 1), "model_file_mb": round(model_mb, 1),
           "rss_ratio": round(max(rss) / model_mb, 3), "loadavg": os.getloadavg()[0]}
    if a.check:
        ref = [json.loads(l) for l in open(a.check)][: len(texts)]
        mx, agree = 0.0, 0
        for r, o in zip(ref, outs):
            lg = json.loads(o)["logits"]
            mx = max(mx, max(abs(x - y) for x, y in zip(lg, r["logits"])))
            agree += lg.index(max(lg)) == r["logits"].index(max(r["logits"]))
        res["check"] = {"ref": os.path.basename(a.check), "compared": len(ref), "max_abs_diff": mx,
                        "label_agree": agree}
    print(json.dumps(res), flush=True)


if __name__ == "__main__":
    main()
