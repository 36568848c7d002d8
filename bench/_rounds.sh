# bench/_rounds.sh — sourced by the bench scripts that time whole commands in turn.
#
# bench_rounds RUNS "JOB1 JOB2 ..." VAR...
#   Runs RUNS rounds; in each, every job once in the order given: outputs WORK/o.* removed,
#   `sync`, then `job NAME` (the caller's shell function) in a fresh bash under
#   /usr/bin/time, with the variables VAR... (and WORK) exported to it.  Appends the job's
#   wall seconds to WORK/wall.NAME and its user+sys seconds to WORK/cpu.NAME.
#   Exits the script if a job fails.
bench_rounds() {
    local runs=$1 jobs=$2 j e u s
    shift 2
    export WORK "$@"
    rm -f "$WORK"/wall.* "$WORK"/cpu.*
    for _ in $(seq "$runs"); do
        for j in $jobs; do
            rm -f "$WORK"/o.*
            sync
            /usr/bin/time -f "%e %U %S" -o "$WORK/t" bash -c "$(declare -f job); job $j" ||
                { echo "job $j failed" >&2; exit 1; }
            read -r e u s <"$WORK/t"
            echo "$e" >>"$WORK/wall.$j"
            echo "$u $s" | awk '{print $1 + $2}' >>"$WORK/cpu.$j"
        done
    done
}
