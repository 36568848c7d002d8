/* wk_convert.h — the Meta → HF conversion engine: a streaming byte producer.
 *
 * Planning and producing are separate, so the same engine serves wk-convert
 * (write every file into a directory), --dry-run (sizes only), and consumers
 * that never put the HF files on disk (an XOR decoder that combines the base
 * bytes with a payload as they are produced, trying several profiles):
 *
 *   wk_llama_ckpt *ck = wk_llama_open(dir, threads, err);   // mmap + validate
 *   wk_convert *c = wk_convert_new(ck, &opts, err);         // plan: files, exact sizes
 *   for (i = 0; i < wk_convert_file_count(c); i++)
 *       wk_convert_stream_file(c, i, sink, err);            // bytes of file i -> sink
 *   wk_convert_free(c); wk_llama_close(ck);
 *
 * Several engines (e.g. one per transformers/torch profile) may share one
 * opened checkpoint.  wk_convert_stream_file() may run concurrently on one
 * engine (different or equal files): each call has its own writer and buffers;
 * the checkpoint is only read.
 *
 * Memory: a shard is produced tensor by tensor in torch's record order; the
 * source rows of a tensor are read with pread (a few heads or ~128 KiB at a
 * time) and merged / permuted / cast into a WK_CONVERT_CHUNK buffer, or passed
 * on unchanged when no change is needed; the next tensor's bytes are
 * prefetched (POSIX_FADV_WILLNEED).  Buffers stay cache-sized, so the resident
 * set is a few MB whatever the model (a source with unusual strides is read
 * through the map and its pages released afterwards).  The bytes do not
 * depend on the thread count. */
#ifndef WK_CONVERT_H
#define WK_CONVERT_H

#include <stddef.h>
#include <stdint.h>
#include "wk_err.h"
#include "wk_hfcfg.h"
#include "wk_hfcfg3.h"
#include "wk_llama.h"
#include "wk_pth_write.h"
#include "wk_safetensors.h"
#include "wk_sink.h"
#include "wk_spm.h"

#define WK_CONVERT_CHUNK (128u << 10) /* output bytes produced at once (cache-sized) */
#define WK_CONVERT_DEFAULT_SHARD 10000000000ull /* "10GB" */

typedef struct {
    wk_hf_profile hf;          /* transformers profile (default 4.28.0.dev0) */
    wk_pth_profile torch;      /* torch.save layout (default torch 1.13/2.0) */
    uint64_t max_shard_size;   /* save_pretrained's max_shard_size in bytes (default 10^10) */
    int safetensors;           /* 1: model-*.safetensors (save_pretrained(safe_serialization=
                                  True), __metadata__ {"format": "pt"}) instead of .bin */
    int model;                 /* 1: model files (config, weights); 0: tokenizer only */
    const char *tokenizer;     /* tokenizer.model to copy, or NULL: no tokenizer files */
    int fast_tokenizer;        /* 1 (default): what LlamaTokenizerFast saves (the converter
                                  with `tokenizers` installed): tokenizer.json too, and
                                  tokenizer_config.json with model_max_length 2048; the
                                  tokenizer must be a SentencePiece BPE model.  0: the slow
                                  LlamaTokenizer's files only */
    const wk_spm *tokenizer_spm; /* NULL, or tokenizer already parsed (wk_tokjson_load_spm),
                                  borrowed: it must outlive the engine; lets several
                                  engines share one copy */
    int threads;               /* reserved (production is single-threaded, see docs) */
    wk_llama3_version llama3;  /* WK_L3_NONE: LLaMA 1/2 (the profiles above).  Else a Llama
                                  3.x conversion as transformers 4.45's script writes it
                                  (docs/convert.md "Llama 3"): tiktoken tokenizer, bf16
                                  weights, no inv_freq, mlp gate/up/down order, lm_head
                                  dropped when tied (3.2), safetensors (forced),
                                  huggingface_hub's shard rule; hf/torch/fast_tokenizer
                                  are ignored */
    int instruct;              /* Llama 3: --instruct (eos lists, chat template) */
    const char *tf3_version;   /* Llama 3: "transformers_version" to write (NULL:
                                  WK_HF3_VERSION); borrowed */
    wk_tiktoken_post tik_post; /* Llama 3: tokenizer.json's post-processor (default
                                  WK_TIKTOKEN_POST_BOS, update_post_processor) */
    int allow_nonfinite;       /* 0: a NaN/Inf in the float16 output (NaN/Inf read, or a
                                  bf16/fp32 value beyond +-65504) fails the shard, naming the
                                  tensor, the count and the first element; 1: written and
                                  counted (wk_convert_nonfinite) */
} wk_convert_opts;

/* Defaults as listed above; tokenizer NULL, model 1, fast_tokenizer 1. */
void wk_convert_opts_init(wk_convert_opts *o);

typedef enum {
    WK_CONV_JSON,  /* a small JSON file built in memory */
    WK_CONV_SHARD, /* a torch.save'd weights shard */
    WK_CONV_SAFETENSORS, /* a safetensors weights shard */
    WK_CONV_COPY,  /* a byte copy of an input file (tokenizer.model) */
    WK_CONV_TOKJSON /* tokenizer.json, streamed from the parsed tokenizer.model */
} wk_conv_kind;

typedef struct {
    const char *name;     /* file name inside the output directory */
    uint64_t size;        /* exact size in bytes */
    wk_conv_kind kind;
    size_t first_tensor;  /* shards: index of the first state-dict tensor ... */
    size_t n_tensors;     /* ... and how many (0 for an empty shard) */
} wk_convert_file;

typedef struct wk_convert wk_convert;

/* Plan the conversion of an opened checkpoint (which must outlive the
 * engine).  Fails with WK_E_UNSUPPORTED when the profile cannot represent
 * the model (grouped-query attention before transformers 4.31), WK_E_IO if
 * the tokenizer cannot be read, WK_E_UNSUPPORTED / WK_E_FORMAT when the fast
 * tokenizer files are asked for and the tokenizer is not a SentencePiece BPE
 * model (wk_tokjson_load_spm), WK_E_NOMEM, or a writer planning error. */
wk_convert *wk_convert_new(const wk_llama_ckpt *ck, const wk_convert_opts *o, wk_err *err);

/* Plan from a geometry alone (no tensor data): every file's name and size
 * are exact, JSON files can be streamed, shards cannot (WK_E_USAGE).  The
 * tokenizer.model size is taken as tokenizer_size (with fast_tokenizer 0,
 * o->tokenizer is not read and may be any non-NULL string to include the
 * tokenizer files; with fast_tokenizer 1 it is read to plan tokenizer.json). */
wk_convert *wk_convert_new_geom(const wk_llama_geom *g, const wk_convert_opts *o,
                                uint64_t tokenizer_size, wk_err *err);

void wk_convert_free(wk_convert *c); /* safe on NULL */

/* Output files, in the order the Python script writes them: config.json,
 * generation_config.json, the shards, the index (if more than one shard;
 * pytorch_model.bin.index.json or model.safetensors.index.json),
 * tokenizer_config.json, special_tokens_map.json, tokenizer.model, and with
 * fast_tokenizer tokenizer.json (the order of PreTrainedTokenizerFast's
 * save_pretrained: the slow vocabulary file, then tokenizer.json). */
size_t wk_convert_file_count(const wk_convert *c);
const wk_convert_file *wk_convert_file_get(const wk_convert *c, size_t i);
/* Index of the file called name, or -1. */
long wk_convert_find_file(const wk_convert *c, const char *name);
/* Sum of all file sizes. */
uint64_t wk_convert_total_bytes(const wk_convert *c);
/* Sum of tensor bytes (the index's total_size). */
uint64_t wk_convert_tensor_bytes(const wk_convert *c);

/* The HF state dict being written (state-dict order) and the file index
 * holding tensor t. */
size_t wk_convert_tensor_count(const wk_convert *c);
const wk_llama_hf_tensor *wk_convert_tensor(const wk_convert *c, size_t t);
size_t wk_convert_tensor_file(const wk_convert *c, size_t t);

/* NaN/Inf values written so far by this engine's shards (allow_nonfinite). */
uint64_t wk_convert_nonfinite(const wk_convert *c);
/* Which wk-convert option produces an output file called name, as advice for
 * a user whose base directory lacks it (e.g. for "tokenizer.json": the
 * default fast tokenizer path, not --slow-tokenizer).  A static sentence
 * without a final period; never NULL. */
const char *wk_convert_option_for(const char *name);

/* The geometry and profile the plan was made for. */
const wk_llama_geom *wk_convert_geom(const wk_convert *c);
const wk_convert_opts *wk_convert_opts_of(const wk_convert *c);

/* Write all bytes of file i to sink (exactly wk_convert_file_get(c, i)->size
 * bytes, strictly forward).  Sink errors are passed up; a shard of an engine
 * planned without data fails with WK_E_USAGE; a file that changed size since
 * planning (tokenizer.model) fails with WK_E_MISMATCH. */
int wk_convert_stream_file(wk_convert *c, size_t i, wk_sink *sink, wk_err *err);

/* Like wk_convert_stream_file but stop after the first `limit` bytes (all of
 * them if the file is shorter): cheap for a shard's header and pickle, e.g.
 * to compare candidate profiles against a file's first KiB. */
int wk_convert_stream_prefix(wk_convert *c, size_t i, uint64_t limit, wk_sink *sink, wk_err *err);

#endif
