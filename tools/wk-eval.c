/* wk-eval — model-level quality of a (quantized) LLaMA-family model: a
 * reference forward pass in C (tools/eval) under subcommands.  A thin main:
 * the subcommand table here, each subcommand in tools/wk_eval_<name>.c. */
#include <stdio.h>
#include <string.h>

#include "wk_cli.h"
#include "wk_eval.h"
#include "wk_io.h"

/* The subcommands, in --help order (add a row for a new one). */
static const wk_eval_cmd k_cmds[] = {
    {"ppl", wk_eval_ppl, "perplexity of MODEL over TEXT, llama-perplexity's chunking rules"},
    {"logits", wk_eval_logits, "the logits of every position of a token sequence, float32, to a file"},
    {"kld", wk_eval_kld, "KL divergence of MODELs from BASE, as llama-perplexity --kl-divergence"},
    {"imatrix", wk_eval_imatrix, "importance matrix of MODEL over TEXT, as llama-imatrix"},
};
#define N_CMDS (sizeof k_cmds / sizeof *k_cmds)

static void usage(void)
{
    printf("Usage: %s COMMAND [OPTIONS] ...\n\n"
           "Evaluate a LLaMA-family model (GGUF of any type wk-quantize writes, F32/F16/BF16 GGUF,\n"
           "safetensors, HF or Meta directories) with weightkit's own forward pass.\n\nCommands:\n",
           WK_EVAL_PROG);
    for (size_t i = 0; i < N_CMDS; i++) printf("  %-8s %s\n", k_cmds[i].name, k_cmds[i].summary);
    printf("\n'%s COMMAND --help' describes a command's options.  Common options: -j N, -q/--quiet,\n"
           "--json, --progress/--no-progress, -h/--help, -V/--version.\n", WK_EVAL_PROG);
}

int main(int argc, char **argv)
{
    wk_err err;
    wk_err_clear(&err);
    if (argc < 2) {
        usage();
        return 2;
    }
    if (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help")) {
        usage();
        return 0;
    }
    if (!strcmp(argv[1], "-V") || !strcmp(argv[1], "--version")) {
        wk_cli_print_version(WK_EVAL_PROG);
        return 0;
    }
    wk_io_install_signal_cleanup();
    for (size_t i = 0; i < N_CMDS; i++)
        if (!strcmp(argv[1], k_cmds[i].name)) return k_cmds[i].run(argc - 1, argv + 1);
    wk_err_set(&err, WK_E_USAGE, "unknown command '%s' (see --help)", argv[1]);
    return wk_cli_fail(WK_EVAL_PROG, &err);
}
