/* wk-quantize — OpenMP-parallel 4/5/8-bit block quantization, bit-compatible with ggml.
 * NOT IMPLEMENTED YET: this executable only answers --help and --version;
 * any real invocation fails with a clear message (see the project's issues). */
#include <stdio.h>
#include "wk_cli.h"

static void usage(void)
{
    printf("usage: wk-quantize [options] ...\n"
           "  OpenMP-parallel 4/5/8-bit block quantization, bit-compatible with ggml\n\n"
           "  NOT IMPLEMENTED YET in this version of weightkit.\n\n"
           "  -h, --help      show this help\n"
           "  -V, --version   show version\n");
}

int main(int argc, char **argv)
{
    wk_cli_std_opts o;
    wk_err err;
    wk_err_clear(&err);
    wk_cli_std_init(&o, "wk-quantize");
    for (int i = 1; i < argc; i++) {
        int help = 0, version = 0;
        int r = wk_cli_std(&o, argc, argv, &i, &help, &version, &err);
        if (r < 0) return wk_cli_fail(o.prog, &err);
        if (help) { usage(); return 0; }
        if (version) { wk_cli_print_version(o.prog); return 0; }
    }
    wk_err_set(&err, WK_E_UNSUPPORTED, "wk-quantize is not implemented yet");
    return wk_cli_fail(o.prog, &err);
}
