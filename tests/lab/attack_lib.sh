# attack_lib.sh: what the attack scenarios (t_attack.sh, t_attack2.sh) share, sourced
# after lib.sh and once lbd runs. With LBD_ATTACK_REPORT=FILE each attack appends a JSON
# line of its figures to FILE, from which tools/bench attack makes the table in
# doc/benchmarks.md: figures, not checks (the checks are the scenarios' own).

# lbd's peak resident set (VmHWM, kB) so far.
rss_kb() { awk '/^VmHWM/ {print $2}' "/proc/$("$lab" lbd pid)/status" 2>/dev/null || echo 0; }

# sample_mbufs SECONDS: the most mbufs the workers had in use, sampled every 0.2 s.
sample_mbufs() {
    local peak=0 v end=$((SECONDS + $1))
    while ((SECONDS < end)); do
        v=$(wsum mbufs_in_use) && ((v > peak)) && peak=$v
        sleep 0.2
    done
    echo "$peak"
}

# legit_json KIND OK N LATFILE: the legitimate client's result as the report takes it,
# from a count and a file of latencies in seconds, one a line (curl's time_total).
legit_json() {
    python3 - "$@" <<'PY'
import json, sys
kind, ok, n, f = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
try:
    lat = sorted(float(x) * 1000 for x in open(f) if x.strip())
except OSError:
    lat = []
q = lambda p: round(lat[min(len(lat) - 1, int(p * len(lat)))], 2) if lat else None
print(json.dumps({"res": {kind: [ok, n]}, "p50": q(0.5), "p99": q(0.99), "max": q(1.0)}))
PY
}

# attack_report NAME RATE LEGIT_JSON_FILE HEALTH_CHANGES PEAK_MBUFS: one line in
# $LBD_ATTACK_REPORT (nothing without it). RATE: what the attack sent, as text.
attack_report() {
    [[ -n ${LBD_ATTACK_REPORT:-} ]] || return 0
    python3 - "$@" "$(rss_kb)" >>"$LBD_ATTACK_REPORT" <<'PY'
import json, sys
name, rate, legit, changes, mbufs, rss = sys.argv[1:7]
l = json.loads(open(legit).read())
ok = sum(v[0] for v in l["res"].values()); n = sum(v[1] for v in l["res"].values())
print(json.dumps({"attack": name, "rate": rate, "ok": ok, "n": n,
                  "p50": l["p50"], "p99": l["p99"], "changes": int(changes),
                  "mbufs": int(mbufs), "rss_kb": int(rss or 0)}))
PY
}
