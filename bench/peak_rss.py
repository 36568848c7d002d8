# peak_rss.py — peak resident memory of a command, anonymous and file-backed apart
# (bench/memory_bench.sh, bench/pack_vs_cp.sh).
#
#   /usr/bin/python3 bench/peak_rss.py CMD [ARGS...]
#
# Runs CMD (stdout/stderr discarded), samples /proc/PID/status every 10 ms and prints the largest
# RssAnon and RssFile seen and VmHWM, in MiB: "ANON FILE HWM".  Exits non-zero if CMD fails.
import os, sys, time
pid = os.fork()
if pid == 0:
    fd = os.open(os.devnull, os.O_WRONLY); os.dup2(fd, 1); os.dup2(fd, 2)
    os.execv(sys.argv[1], sys.argv[1:])
peak = {"RssAnon": 0, "RssFile": 0, "VmHWM": 0}
while True:
    try:
        for line in open("/proc/%d/status" % pid):
            k = line.split(":")[0]
            if k in peak: peak[k] = max(peak[k], int(line.split()[1]))
    except (OSError, ValueError):
        pass
    r, st = os.waitpid(pid, os.WNOHANG)
    if r: break
    time.sleep(0.01)
if st != 0: sys.exit("failed: %s" % " ".join(sys.argv[1:]))
print(peak["RssAnon"] // 1024, peak["RssFile"] // 1024, peak["VmHWM"] // 1024)
