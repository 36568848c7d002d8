# pack_model.py — the synthetic LLaMA-shaped Meta checkpoint of the wk-pack benchmarks
# (bench/pack_bench.sh, bench/pack_vs_cp.sh, bench/eval_bench.sh): random fp16, vocab 32000.
#
#   /usr/bin/python3 bench/pack_model.py OUT_DIR DIM LAYERS REPO_ROOT [--unit-norms]
#
# --unit-norms: the norm weights are 1 + noise instead of noise (a forward pass that stays in range:
# bench/eval_bench.sh).
# Writes OUT_DIR/consolidated.00.pth, params.json and tokenizer.model (the test fixture's, or a
# small SentencePiece BPE model trained on README.md).  Needs Debian's python3-torch.
import json, os, sys, torch
out, dim, layers, root = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
unit_norms = sys.argv[5:] == ["--unit-norms"]
torch.manual_seed(0)
ffn, vocab = 256 * ((int(2 * 4 * dim / 3) + 255) // 256), 32000
sd = {"tok_embeddings.weight": (vocab, dim), "norm.weight": (dim,), "output.weight": (vocab, dim)}
for i in range(layers):
    for k, s in (("attention.wq", (dim, dim)), ("attention.wk", (dim, dim)), ("attention.wv", (dim, dim)),
                 ("attention.wo", (dim, dim)), ("feed_forward.w1", (ffn, dim)),
                 ("feed_forward.w2", (dim, ffn)), ("feed_forward.w3", (ffn, dim)),
                 ("attention_norm", (dim,)), ("ffn_norm", (dim,))):
        sd["layers.%d.%s.weight" % (i, k)] = s
sd = {k: (torch.randn(s) * 0.02 + (1.0 if unit_norms and len(s) == 1 else 0.0)).to(torch.float16)
      for k, s in sd.items()}
torch.save(sd, os.path.join(out, "consolidated.00.pth"))
json.dump({"dim": dim, "multiple_of": 256, "n_heads": dim // 128, "n_layers": layers,
           "norm_eps": 1e-06, "vocab_size": -1}, open(os.path.join(out, "params.json"), "w"))
tok = os.path.join(root, "tests", "fixtures", "models", "tokenizer.model")
if os.path.exists(tok):
    import shutil; shutil.copyfile(tok, os.path.join(out, "tokenizer.model"))
else:
    import sentencepiece as spm
    txt = os.path.join(out, "t.txt")
    open(txt, "w").write(open(os.path.join(root, "README.md")).read() * 3)
    spm.SentencePieceTrainer.train(input=txt, model_prefix=os.path.join(out, "tokenizer"), vocab_size=300,
                                   model_type="bpe", byte_fallback=True, minloglevel=2)
    os.remove(txt); os.remove(os.path.join(out, "tokenizer.vocab"))
