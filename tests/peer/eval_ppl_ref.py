#!/usr/bin/python3
"""Perplexity references for wk-eval (tests/peer/eval_torch.sh, eval_llama_cpp.sh); Debian python3.

llama-perplexity's rules (docs/eval.md), written here from its description, independently of
weightkit's C: n_chunks = min(K, len(ids) // ctx) windows of ctx ids; the first id of each
window replaced by BOS when the vocabulary adds BOS; the logits of positions ctx//2 .. ctx-2
predict ids ctx//2+1 .. ctx-1; nll = -(logit[tok] - max) + log(sum(exp(logit - max))) with the
exponentials in float32 and their sum in float64; PPL = exp(mean nll), uncertainty
PPL * sqrt((mean(nll^2) - mean(nll)^2) / (count - 1)).

  eval_ppl_ref.py windows IDS CTX CHUNKS BOS OUT
      the windows (BOS put first when BOS >= 0) as whitespace-separated ids, for
      llama_harness chunks.
  eval_ppl_ref.py logits LOGITS.bin IDS CTX CHUNKS
      PPL from the logits of every position of every window (float32 [k*ctx, n_vocab]).
  eval_ppl_ref.py torch MODEL_DIR IDS CTX CHUNKS BOS
      PPL of the HF checkpoint MODEL_DIR by hf_arch_ref.py's torch forward (transformers'
      formulas), float32.
Each prints one JSON object: {"ppl": .., "ppl_stderr": .., "n_scored": .., "n_chunks": ..}.
"""
import json
import math
import os
import sys

import numpy as np


def read_ids(path):
    return [int(x) for x in open(path).read().replace(",", " ").split()]


def windows(ids, ctx, chunks, bos):
    n = min(chunks, len(ids) // ctx) if chunks > 0 else len(ids) // ctx
    if len(ids) < 2 * ctx:
        sys.exit("need at least %d ids" % (2 * ctx))
    out = []
    for c in range(n):
        w = list(ids[c * ctx:(c + 1) * ctx])
        if bos >= 0:
            w[0] = bos
        out.append(w)
    return out


def score(all_logits, ids, ctx):
    """all_logits: list of [ctx, n_vocab] float32 arrays, one per window."""
    first = ctx // 2
    nll = nll2 = 0.0
    count = 0
    for c, lg in enumerate(all_logits):
        for i in range(first, ctx - 1):
            row = lg[i].astype(np.float32)
            mx = row.max()
            s = float(np.exp(row - mx).astype(np.float64).sum())
            v = -(float(row[ids[c * ctx + i + 1]] - mx) - math.log(s))
            nll += v
            nll2 += v * v
            count += 1
    mean = nll / count
    var = nll2 / count - mean * mean
    ppl = math.exp(mean)
    err = math.sqrt(var / (count - 1)) * ppl if var > 0 else 0.0
    return {"ppl": ppl, "ppl_stderr": err, "n_scored": count, "n_chunks": len(all_logits)}


def main():
    mode = sys.argv[1]
    if mode == "windows":
        ids, ctx, chunks, bos, out = read_ids(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), \
            int(sys.argv[5]), sys.argv[6]
        with open(out, "w") as fh:
            for w in windows(ids, ctx, chunks, bos):
                fh.write(" ".join(map(str, w)) + "\n")
        return
    if mode == "logits":
        path, ids, ctx, chunks = sys.argv[2], read_ids(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
        n = min(chunks, len(ids) // ctx) if chunks > 0 else len(ids) // ctx
        lg = np.fromfile(path, dtype="<f4")
        nv = lg.size // (n * ctx)
        assert nv * n * ctx == lg.size, (lg.size, n, ctx)
        lg = lg.reshape(n, ctx, nv)
        print(json.dumps(score([lg[c] for c in range(n)], ids, ctx)))
        return
    if mode == "torch":
        sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
        import hf_arch_ref
        d, ids, ctx, chunks, bos = sys.argv[2], read_ids(sys.argv[3]), int(sys.argv[4]), \
            int(sys.argv[5]), int(sys.argv[6])
        lgs = [hf_arch_ref.forward(d, w).numpy() for w in windows(ids, ctx, chunks, bos)]
        print(json.dumps(score(lgs, ids, ctx)))
        return
    sys.exit("usage: eval_ppl_ref.py windows|logits|torch ...")


if __name__ == "__main__":
    main()
