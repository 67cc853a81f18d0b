# Shared helpers for the benchmarks (sourced by bench/*.sh, never run).

# best CMD...: seconds of the fastest of 5 runs (page cache warm), stdout
# discarded.
best() {
  python3 - "$@" <<'PY'
import subprocess, sys, time
ts = []
for _ in range(5):
    t = time.perf_counter()
    subprocess.run(sys.argv[1:], check=True, stdout=subprocess.DEVNULL)
    ts.append(time.perf_counter() - t)
print("%.6f" % min(ts))
PY
}
