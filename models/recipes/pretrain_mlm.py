#!/usr/bin/env python3
"""Masked-language-model pretraining of nlpipe-bert-mini on CPU (--threads, default one).

  OMP_NUM_THREADS=1 BLIS_NUM_THREADS=1 BLIS_ARCH_TYPE=0 nice -n 10 \
    /usr/bin/python3 models/recipes/pretrain_mlm.py --data /work/scratch/pretrain \
        --out /work/scratch/pretrain --steps S --max-minutes 105 [--resume]
  ... --bench-steps 6          # throughput only: no checkpoint, prints tokens/s

Data: OUT/segments.u16 from prepare_data.py (N x 128 [CLS] ... [SEP]). Each epoch visits
the train segments in a fresh seeded order. 10% of the rows of a batch are cut to a
random length 16..127 (new [SEP], [PAD] after it, attention mask) so the model also
sees short, padded inputs. MLM: every non-special position is chosen with p=0.15;
of those 80% -> [MASK], 10% -> random token (ids 999..30521), 10% unchanged.
The output layer (tied to the word embeddings) runs at the chosen positions only.
No dropout during pretraining (config.json keeps HF's 0.1 for fine-tuning).

Schedule: AdamW (betas 0.9/0.98, eps 1e-6, weight decay 0.01 except biases and
LayerNorm), linear warm-up over --warmup steps to --lr, then linear decay to 0 at
--steps (computed by the caller from the measured throughput). Deadline guard: the
total wall time of all runs (incl. evaluation and restarts) is capped at --max-minutes;
if the measured step time says --steps would not fit, the remaining decay is
re-planned to end at the deadline (logged as REPLAN, stored in the checkpoint).
Checkpoint (model, optimizer, schedule, RNG states, data position) every
--ckpt-seconds to OUT/ckpt.pt; --resume continues bit-for-bit from it. The dev MLM
loss/accuracy (fixed seeded masking of the held-out segments) is computed at every
checkpoint and at the end (OUT/dev_report.json).
"""
import argparse
import json
import os
import sys
import time


BLIS_ARCH_IDS = {"skx": 0, "knl": 1, "haswell": 3, "zen3": 6, "zen2": 7, "zen": 8, "generic": 13}


def cpu_flags():
    try:
        with open("/proc/cpuinfo") as f:
            for ln in f:
                if ln.startswith("flags"):
                    return set(ln.split(":", 1)[1].split())
    except OSError:
        pass
    return set()


def parse():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", default="/work/scratch/pretrain")
    ap.add_argument("--out", default="/work/scratch/pretrain")
    ap.add_argument("--steps", type=int, default=2000)
    ap.add_argument("--warmup", type=int, default=150)
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--lr", type=float, default=8e-4)
    ap.add_argument("--wd", type=float, default=0.01)
    ap.add_argument("--clip", type=float, default=1.0)
    ap.add_argument("--mask-prob", type=float, default=0.15)
    ap.add_argument("--short-frac", type=float, default=0.10)
    ap.add_argument("--seed", type=int, default=1234)
    ap.add_argument("--max-minutes", type=float, default=105.0)
    ap.add_argument("--ckpt-seconds", type=float, default=300.0)
    ap.add_argument("--log-every", type=int, default=10)
    ap.add_argument("--resume", action="store_true")
    ap.add_argument("--bench-steps", type=int, default=0)
    ap.add_argument("--threads", type=int, default=1,
                    help="torch intra-op threads (stage 1 used 1, stage 2 used 2)")
    ap.add_argument("--init", default="",
                    help="continued pretraining: start from the weights of this checkpoint "
                         "(a previous stage's ckpt.pt, or an exported model.safetensors), "
                         "with a fresh optimizer and schedule")
    ap.add_argument("--embed-init", default="",
                    help="start the word embeddings and the MLM bias from embed_init.py's .npz "
                         "(PPMI-SVD vectors, log unigram probabilities) instead of N(0, 0.02)")
    ap.add_argument("--replay-replans", default="",
                    help="exact reproduction: JSON list of re-plans from a previous run's "
                         "dev_report.json / MODEL_CARD ('[]' for none); applies exactly those "
                         "and turns the deadline guard off")
    ap.add_argument("--blis-arch", default="skx-if-avx512",
                    choices=["skx-if-avx512", "auto"] + sorted(BLIS_ARCH_IDS),
                    help="BLIS kernel set. Default: BLIS_ARCH_TYPE=0 (skx) if the CPU has AVX-512 "
                         "(BLIS 0.9 does not recognise Zen 5 and would use 'generic'), else BLIS's "
                         "own choice. An explicit BLIS_ARCH_TYPE in the environment wins.")
    return ap.parse_args()


args = parse()
# threads / BLAS environment must be fixed before torch is imported
for _v in ("OMP_NUM_THREADS", "BLIS_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_v] = str(args.threads)
if "BLIS_ARCH_TYPE" not in os.environ:
    if args.blis_arch == "skx-if-avx512":
        if {"avx512f", "avx512dq", "avx512bw", "avx512vl"} <= cpu_flags():
            os.environ["BLIS_ARCH_TYPE"] = "0"
    elif args.blis_arch != "auto":
        os.environ["BLIS_ARCH_TYPE"] = str(BLIS_ARCH_IDS[args.blis_arch])

import numpy as np  # noqa: E402
import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402

torch.set_num_threads(args.threads)
torch.set_num_interop_threads(1)
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bert_mini import BertForMaskedLM  # noqa: E402
from mlm_common import SEP, evaluate, mask_batch  # noqa: E402


def log(msg, fh=None):
    line = time.strftime("%Y-%m-%d %H:%M:%S ") + msg
    print(line, flush=True)
    if fh:
        fh.write(line + "\n")
        fh.flush()


def shorten(ids, gen, frac):
    """Cut a fraction of rows to a random length (16..127) -> (ids, attention_mask or None)."""
    B, L = ids.shape
    cut = torch.rand(B, generator=gen) < frac
    if not bool(cut.any()):
        return ids, None
    lens = torch.randint(16, L, (B,), generator=gen)
    lens = torch.where(cut, lens, torch.full_like(lens, L))
    ar = torch.arange(L)[None]
    am = (ar < lens[:, None]).to(torch.int64)
    ids = ids * am
    ids[torch.arange(B)[cut], lens[cut] - 1] = SEP
    return ids, am


def lr_at(step, sch):
    if step < sch["warmup"]:
        return sch["lr"] * (step + 1) / sch["warmup"]
    s0, lr0, S = sch["s0"], sch["lr0"], sch["total"]
    if step >= S:
        return 0.0
    return lr0 * (S - step) / (S - s0)


def main():
    a = args
    t_start = time.time()
    os.makedirs(a.out, exist_ok=True)
    logf = None if a.bench_steps else open(os.path.join(a.out, "train.log"), "a")
    meta = json.load(open(os.path.join(a.data, "data_meta.json")))
    seq = meta["seq"]
    segs = np.memmap(os.path.join(a.data, "segments.u16"), dtype=np.uint16, mode="r").reshape(-1, seq)
    train_idx = np.load(os.path.join(a.data, "train_idx.npy"))
    dev_idx = np.load(os.path.join(a.data, "dev_idx.npy"))

    torch.manual_seed(a.seed)
    model = BertForMaskedLM({"hidden_dropout_prob": 0.0, "attention_probs_dropout_prob": 0.0})
    model.init_weights(torch.Generator().manual_seed(a.seed))
    if a.init.endswith(".safetensors"):
        # stage 3 starts from the committed (f16) export, so it needs no earlier scratch files
        from safetensors_io import load_file
        tensors, _ = load_file(a.init)
        sd = {k: torch.from_numpy(t.astype(np.float32)) for k, t in tensors.items()}
        # the export keeps only the 128 trained positions; the rest stay as initialised
        pos = "bert.embeddings.position_embeddings.weight"
        full = model.state_dict()[pos].clone()
        full[:sd[pos].shape[0]] = sd[pos]
        sd[pos] = full
        model.load_state_dict(sd, strict=True)
    elif a.init:
        model.load_state_dict(torch.load(a.init)["model"])
    if a.embed_init:
        ei = np.load(a.embed_init)
        with torch.no_grad():
            model.bert.embeddings.word_embeddings.weight.copy_(torch.from_numpy(ei["word"]))
            model.cls.predictions.bias.copy_(torch.from_numpy(ei["bias"]))
    decay, no_decay = [], []
    for n, p in model.named_parameters():
        (no_decay if (n.endswith("bias") or "LayerNorm" in n) else decay).append(p)
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": a.wd},
                             {"params": no_decay, "weight_decay": 0.0}],
                            lr=a.lr, betas=(0.9, 0.98), eps=1e-6)
    sch = {"lr": a.lr, "warmup": a.warmup, "s0": a.warmup, "lr0": a.lr, "total": a.steps,
           "replans": []}
    mgen = torch.Generator().manual_seed(a.seed + 1)        # masking / shortening
    drng = np.random.default_rng(a.seed + 2)                 # data order
    step, epoch, cursor, wall_prev, tokens_seen = 0, 0, 0, 0.0, 0
    order = drng.permutation(train_idx)
    ckpt_path = os.path.join(a.out, "ckpt.pt")
    if a.resume and os.path.exists(ckpt_path):
        ck = torch.load(ckpt_path)
        model.load_state_dict(ck["model"])
        opt.load_state_dict(ck["opt"])
        sch = ck["sched"]
        mgen.set_state(ck["mgen"])
        drng.bit_generator.state = ck["drng"]
        step, epoch, cursor = ck["step"], ck["epoch"], ck["cursor"]
        wall_prev, tokens_seen = ck["wall"], ck["tokens_seen"]
        order = ck["order"]
        log(f"RESUME step {step} epoch {epoch} wall {wall_prev:.0f}s", logf)
    elif not a.bench_steps:
        log("START " + json.dumps(vars(a)), logf)

    def wall():
        return wall_prev + (time.time() - t_start)

    def save(done=False, dev=None):
        ck = {"model": model.state_dict(), "opt": opt.state_dict(), "sched": sch,
              "mgen": mgen.get_state(), "drng": drng.bit_generator.state, "step": step,
              "epoch": epoch, "cursor": cursor, "wall": wall(), "tokens_seen": tokens_seen,
              "order": order, "args": vars(a), "done": done, "dev": dev,
              "config": model.config}
        torch.save(ck, ckpt_path + ".tmp")
        os.replace(ckpt_path + ".tmp", ckpt_path)

    budget = a.max_minutes * 60.0
    replay = None
    if a.replay_replans:
        replay = {int(r["at_step"]): r for r in json.loads(a.replay_replans)}
    model.train()
    last_ckpt = time.time()
    acc_loss, acc_ok, acc_n, acc_tok, t_int = 0.0, 0, 0, 0, time.time()
    step_times = []
    bench_t0 = None
    while step < sch["total"]:
        if a.bench_steps and step == 2:
            bench_t0, bench_tok, bench_c0 = time.time(), tokens_seen, time.process_time()
        if a.bench_steps and step == 2 + a.bench_steps:
            dt = time.time() - bench_t0
            dc = time.process_time() - bench_c0
            print(json.dumps({"BLIS_ARCH_TYPE": os.environ.get("BLIS_ARCH_TYPE"), "steps": a.bench_steps,
                              "batch": a.batch, "sec_per_step": dt / a.bench_steps,
                              "tokens_per_s": (tokens_seen - bench_tok) / dt,
                              "tokens_per_cpu_s": (tokens_seen - bench_tok) / dc,
                              "malloc_mmap_max": os.environ.get("MALLOC_MMAP_MAX_")}), flush=True)
            return
        ts = time.time()
        if cursor + a.batch > len(order):
            epoch += 1
            order = drng.permutation(train_idx)
            cursor = 0
        rows = np.sort(order[cursor:cursor + a.batch])
        cursor += a.batch
        ids = torch.from_numpy(segs[rows].astype(np.int64))
        ids, am = shorten(ids, mgen, a.short_frac)
        inp, pos, tgt = mask_batch(ids, mgen, a.mask_prob)
        lr = lr_at(step, sch)
        for g in opt.param_groups:
            g["lr"] = lr
        logits = model(inp, attention_mask=am, positions=pos)
        loss = F.cross_entropy(logits, tgt)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        gn = torch.nn.utils.clip_grad_norm_(model.parameters(), a.clip)
        opt.step()
        step += 1
        if replay is not None and step in replay:
            r = replay[step]
            sch["replans"].append(dict(r))
            sch["s0"], sch["lr0"], sch["total"] = step, r["lr"], r["new_total"]
            log(f"REPLAN (replayed) at step {step}: total steps -> {r['new_total']}", logf)
        ntok = int(ids.numel() if am is None else am.sum())
        tokens_seen += ntok
        acc_loss += float(loss) * tgt.numel()
        acc_ok += int((logits.detach().argmax(-1) == tgt).sum())
        acc_n += int(tgt.numel())
        acc_tok += ntok
        step_times.append(time.time() - ts)
        if step % a.log_every == 0 and not a.bench_steps:
            dt = time.time() - t_int
            log(f"step {step}/{sch['total']} epoch {epoch} loss {acc_loss / acc_n:.4f} "
                f"mlm_acc {acc_ok / acc_n:.4f} lr {lr:.2e} gnorm {float(gn):.2f} "
                f"tok/s {acc_tok / dt:.0f} tokens {tokens_seen} wall {wall() / 60:.1f}m", logf)
            acc_loss, acc_ok, acc_n, acc_tok, t_int = 0.0, 0, 0, 0, time.time()
            # deadline guard: re-plan the decay if the remaining steps would not fit
            recent = step_times[-50:]
            sps = sum(recent) / len(recent)
            remaining = budget - wall() - 30.0          # 30 s for the final eval + save
            need = (sch["total"] - step) * sps
            # ... and stretch it again (never past --steps) when the machine got faster,
            # so a busy start does not cut the whole run short
            if (replay is None and step > sch["warmup"] and sch["total"] < a.steps
                    and need < remaining * 0.85):
                new_total = min(a.steps, step + int(remaining / sps * 0.95))
                if new_total > sch["total"]:
                    sch["replans"].append({"at_step": step, "old_total": sch["total"],
                                           "new_total": new_total, "lr": lr})
                    sch["s0"], sch["lr0"], sch["total"] = step, lr, new_total
                    log(f"REPLAN at step {step}: total steps -> {new_total} "
                        f"({sps:.2f} s/step, {remaining:.0f} s left)", logf)
            if replay is None and step > sch["warmup"] and need > remaining * 1.02:
                new_total = step + max(1, int(remaining / sps * 0.97))
                if new_total < sch["total"]:
                    sch["replans"].append({"at_step": step, "old_total": sch["total"],
                                           "new_total": new_total, "lr": lr})
                    sch["s0"], sch["lr0"], sch["total"] = step, lr, new_total
                    log(f"REPLAN at step {step}: total steps -> {new_total} "
                        f"({sps:.2f} s/step, {remaining:.0f} s left)", logf)
        if not a.bench_steps and time.time() - last_ckpt >= a.ckpt_seconds:
            dev = evaluate(model, segs, dev_idx, a.mask_prob)
            log(f"DEV step {step} " + json.dumps(dev), logf)
            save(dev=dev)
            log(f"CKPT step {step} -> {ckpt_path}", logf)
            last_ckpt = time.time()
        if wall() > budget:
            log(f"DEADLINE reached at step {step}", logf)
            break
    if a.bench_steps:
        return
    dev = evaluate(model, segs, dev_idx, a.mask_prob)
    save(done=True, dev=dev)
    rep = dict(dev, step=step, epochs=epoch + cursor / len(order), tokens_seen=tokens_seen,
               wall_minutes=wall() / 60, replans=sch["replans"], args=vars(a))
    with open(os.path.join(a.out, "dev_report.json"), "w") as f:
        json.dump(rep, f, indent=1)
    log("DONE " + json.dumps(rep), logf)


if __name__ == "__main__":
    main()
