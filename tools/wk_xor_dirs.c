/* wk_xor_dirs.c — where wk-xor looks for a default manifest (see
 * wk_xor_dirs.h). */
#include "wk_xor_dirs.h"

#include <dirent.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Fixed at configure time by CMakeLists.txt (the install block); the
 * defaults keep a build without them working from an installed layout. */
#ifndef WK_BIN_TO_CHECKSUMS
#define WK_BIN_TO_CHECKSUMS "../share/weightkit/checksums"
#endif
#ifndef WK_INSTALL_CHECKSUMS_DIR
#define WK_INSTALL_CHECKSUMS_DIR "/usr/local/share/weightkit/checksums"
#endif

static char s_shipped[PATH_MAX];

/* 1 if path is a directory. */
static int is_dir(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

/* The running executable's directory into buf (resolved); 0 or -1. */
static int exe_dir(char *buf, size_t cap)
{
    ssize_t n = readlink("/proc/self/exe", buf, cap - 1);
    if (n <= 0) return -1;
    buf[n] = '\0';
    char *slash = strrchr(buf, '/');
    if (!slash) return -1;
    *slash = '\0';
    return 0;
}

/* 1 if the executable runs from the build tree's bin/ directory. */
static int in_build_tree(const char *exe)
{
#ifdef WK_BUILD_BIN_DIR
    char real[PATH_MAX];
    return realpath(WK_BUILD_BIN_DIR, real) && strcmp(real, exe) == 0;
#else
    (void)exe;
    return 0;
#endif
}

/* The one directory of shipped manifests for this layout, into s_shipped. */
static const char *shipped_dir(const char **layout)
{
    char exe[PATH_MAX];
    int have_exe = exe_dir(exe, sizeof exe) == 0;
#ifdef WK_SOURCE_CHECKSUMS_DIR
    if (have_exe && in_build_tree(exe)) {
        *layout = "build tree";
        snprintf(s_shipped, sizeof s_shipped, "%s", WK_SOURCE_CHECKSUMS_DIR);
        return s_shipped;
    }
#endif
    if (have_exe && (size_t)snprintf(s_shipped, sizeof s_shipped, "%s/%s", exe,
                                     WK_BIN_TO_CHECKSUMS) < sizeof s_shipped && is_dir(s_shipped)) {
        *layout = "installed tree";
        return s_shipped;
    }
    *layout = "configured install directory";
    snprintf(s_shipped, sizeof s_shipped, "%s", WK_INSTALL_CHECKSUMS_DIR);
    return s_shipped;
}

size_t xor_manifest_dirs(const char *dirs[XOR_MANIFEST_DIRS_MAX], const char **layout)
{
    size_t n = 0;
    const char *env = getenv("WK_CHECKSUMS_DIR");
    if (env && *env) dirs[n++] = env;  /* the environment outlives the run */
    const char *lay;
    dirs[n++] = shipped_dir(&lay);
    if (layout) *layout = lay;
    return n;
}

/* The *.sha256 files of dir, one line each, sorted; "(none)" or why not. */
static void list_dir(FILE *out, const char *dir)
{
    struct dirent **ents;
    int n = scandir(dir, &ents, NULL, alphasort);
    if (n < 0) {
        fprintf(out, "    (missing)\n");
        return;
    }
    int shown = 0;
    for (int i = 0; i < n; i++) {
        size_t len = strlen(ents[i]->d_name);
        if (len > 7 && !strcmp(ents[i]->d_name + len - 7, ".sha256")) {
            fprintf(out, "    %s\n", ents[i]->d_name);
            shown++;
        }
        free(ents[i]);
    }
    free(ents);
    if (!shown) fprintf(out, "    (no *.sha256)\n");
}

int xor_print_manifest_dirs(FILE *out, int verbose)
{
    const char *dirs[XOR_MANIFEST_DIRS_MAX], *layout;
    size_t n = xor_manifest_dirs(dirs, &layout);
    const char *env = getenv("WK_CHECKSUMS_DIR");
    int have_env = env && *env;
    if (verbose) fprintf(out, "default manifests (*.sha256) are searched in:\n");
    if (!have_env) fprintf(out, verbose ? "  $WK_CHECKSUMS_DIR (not set)\n" : "manifests: $WK_CHECKSUMS_DIR (not set)\n");
    for (size_t i = 0; i < n; i++) {
        const char *what = have_env && i == 0 ? "$WK_CHECKSUMS_DIR" : layout;
        fprintf(out, verbose ? "  %s (%s)\n" : "manifests: %s (%s)\n", dirs[i], what);
        if (verbose) list_dir(out, dirs[i]);
    }
    return 0;
}
