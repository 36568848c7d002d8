# _shared_data.sh — sourced, never run: where the shared real test data is (Meta's LLaMA
# tokenizer.model and others, not in the repository).  Not a test (tests/CMakeLists.txt
# skips tests/*/_*.sh).
#
#   . "$SRC/tests/cli/_shared_data.sh"; wk_shared_data || exit 77
#
# Sets WK_DATA to the first directory of: $WK_SHARED_DATA, $SRC/../shared/data (the
# checkout beside it), $SRC/../../shared/data (a git worktree one folder deeper) that holds
# README.md; else prints "skipped: ..." naming the places looked at and returns 1.
wk_shared_data() {
    local d
    for d in ${WK_SHARED_DATA:+"$WK_SHARED_DATA"} "$SRC/../shared/data" "$SRC/../../shared/data"; do
        if [ -f "$d/README.md" ]; then WK_DATA=$(cd "$d" && pwd); return 0; fi
    done
    echo "$(basename "$0"): skipped: the shared test data is absent (looked in" \
         "${WK_SHARED_DATA:+$WK_SHARED_DATA, }$SRC/../shared/data, $SRC/../../shared/data;" \
         "set WK_SHARED_DATA)" >&2
    return 1
}
