"""Masking and dev evaluation shared by pretrain_mlm.py and check_export.py (import torch
only after the thread / BLAS environment is set)."""
import numpy as np
import torch
import torch.nn.functional as F

PAD, UNK, CLS, SEP, MASK = 0, 100, 101, 102, 103
FIRST_REAL = 999          # ids 1..998 are [unusedN] and the special tokens
VOCAB = 30522
DEV_MASK_SEED = 4321


def mask_batch(ids, gen, mask_prob):
    """ids (B, L) int64 -> (inputs, positions bool (B, L), targets (M,)).
    Every non-special position is chosen with p=mask_prob; chosen ones become
    [MASK] (80%), a random real token (10%) or stay (10%)."""
    special = (ids == PAD) | (ids == CLS) | (ids == SEP)
    r = torch.rand(ids.shape, generator=gen)
    pos = (r < mask_prob) & ~special
    targets = ids[pos]
    inp = ids.clone()
    u = torch.rand(targets.shape, generator=gen)
    rnd = torch.randint(FIRST_REAL, VOCAB, targets.shape, generator=gen)
    new = torch.where(u < 0.8, torch.full_like(targets, MASK), torch.where(u < 0.9, rnd, targets))
    inp[pos] = new
    return inp, pos, targets


def evaluate(model, segs, dev_idx, mask_prob=0.15, batch=64):
    """MLM loss / accuracy on the dev segments (full 128-token rows) with a fixed
    seeded masking, so numbers from different checkpoints are comparable."""
    gen = torch.Generator().manual_seed(DEV_MASK_SEED)
    was_training = model.training
    model.eval()
    tot_loss, tot_ok, tot_n = 0.0, 0, 0
    with torch.no_grad():
        for i in range(0, len(dev_idx), batch):
            ids = torch.from_numpy(np.asarray(segs[dev_idx[i:i + batch]]).astype(np.int64))
            inp, pos, tgt = mask_batch(ids, gen, mask_prob)
            logits = model(inp, positions=pos)
            tot_loss += float(F.cross_entropy(logits, tgt, reduction="sum"))
            tot_ok += int((logits.argmax(-1) == tgt).sum())
            tot_n += int(tgt.numel())
    model.train(was_training)
    return {"dev_loss": tot_loss / tot_n, "dev_acc": tot_ok / tot_n, "dev_masked": tot_n,
            "dev_segments": int(len(dev_idx))}
