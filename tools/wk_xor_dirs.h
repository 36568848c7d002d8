/* wk_xor_dirs.h — where wk-xor looks for a default manifest (tool layer:
 * the layout of a build tree or an installed tree is the tool's business,
 * the xor engine only searches the directories it is given).
 *
 * Searched, every *.sha256 in each (the best fit wins, see wk_xor.h):
 *   1. $WK_CHECKSUMS_DIR, when set and not empty;
 *   2. the shipped manifests, one directory chosen by layout:
 *      - build tree: the executable sits in the build's bin/ directory
 *        (WK_BUILD_BIN_DIR, fixed at configure time) -> the source tree's
 *        checksums/ (WK_SOURCE_CHECKSUMS_DIR), wherever the build directory is;
 *      - installed tree: <exe dir>/WK_BIN_TO_CHECKSUMS (../share/weightkit/
 *        checksums under GNUInstallDirs) when that directory exists, so a
 *        tree installed with --prefix, DESTDIR or the .deb finds its own;
 *      - otherwise the install directory fixed at configure time
 *        (WK_INSTALL_CHECKSUMS_DIR, <prefix>/share/weightkit/checksums). */
#ifndef WK_XOR_DIRS_H
#define WK_XOR_DIRS_H

#include <stddef.h>
#include <stdio.h>

enum { XOR_MANIFEST_DIRS_MAX = 2 };

/* Fill dirs[] with the directories to search (pointers to static storage,
 * valid for the whole run); returns how many (0..XOR_MANIFEST_DIRS_MAX).
 * *layout, if given, is set to "build tree", "installed tree" or
 * "configured install directory". */
size_t xor_manifest_dirs(const char *dirs[XOR_MANIFEST_DIRS_MAX], const char **layout);

/* --list-manifests (verbose): the directories searched and the manifests in
 * each; --version (!verbose): one "manifests:" line per directory.  Returns 0. */
int xor_print_manifest_dirs(FILE *out, int verbose);

#endif
