# lib.sh: what every lab scenario sources (tests/lab/t_*.sh).
#
# A scenario reads like a reg-test: bring up the lab, start lbd with an inline or
# shipped config, run real clients and servers in the namespaces, and check what they
# see. Each `check` prints "ok - ..." or "not ok - ..." (TAP style; tests/lab/run counts
# them). The lab is torn down on exit, whatever happens, and only processes the lab
# started are stopped.
set -uo pipefail

top=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
lab=$top/tools/lab
# One prefix per checkout, so that two checkouts' test runs never share a namespace.
export LBD_LAB_PREFIX=${LBD_LAB_PREFIX:-lbdt$(echo "$top" | md5sum | cut -c1-4)}
export LBD_BUILD=${LBD_BUILD:-$top/build}
labrun=/run/lbd-lab/$LBD_LAB_PREFIX
tmp=$(mktemp -d /tmp/lbd-lab-XXXXXX)
n_ok=0
n_fail=0

lab_cleanup() {
    "$lab" down >/dev/null 2>&1 || true
    rm -rf "$tmp"
}
trap lab_cleanup EXIT
trap 'exit 130' INT TERM

# check DESCRIPTION CMD...: runs CMD; its output is shown only when it fails.
check() {
    local desc=$1
    shift
    if "$@" >"$tmp/check.out" 2>&1; then
        echo "ok - $desc"
        n_ok=$((n_ok + 1))
    else
        echo "not ok - $desc"
        sed 's/^/    # /' "$tmp/check.out" | tail -n 25
        n_fail=$((n_fail + 1))
    fi
}

# Ends the scenario: exit status 1 when any check failed.
done_testing() {
    echo "# $(basename "$0"): $n_ok ok, $n_fail failed"
    ((n_fail == 0))
}

on() { local n=$1; shift; "$lab" exec "$n" "$@"; }
lbctl() { "$lab" lbctl "$@"; }

# json EXPR: evaluates a Python expression on the JSON read from stdin, bound to `r`
# (a reply's "result" when it has one). Prints the value; fails when it is False.
json() {
    python3 -c '
import json, sys
d = json.load(sys.stdin)
r = d.get("result", d) if isinstance(d, dict) else d
v = eval(sys.argv[1], {"r": r, "sum": sum, "len": len, "any": any, "all": all})
print(v)
sys.exit(1 if v is False else 0)' "$1"
}

# stat EXPR: evaluates EXPR on `lbctl --json stats` of lb1.
stat() { lbctl --json stats | json "$1"; }

# expect_true EXPR: fails unless the stats expression holds (for use with check).
expect_stat() { [[ $(stat "$1") == True ]]; }

# Writes a config derived from config/lab.json with Python edits applied to `c`.
# usage: make_config OUT 'c["appliance"]["idle_sleep_us"] = 50'
make_config() {
    python3 - "$top/config/lab.json" "$1" "$2" <<'PY'
import json, sys
c = json.load(open(sys.argv[1]))
exec(sys.argv[3])
json.dump(c, open(sys.argv[2], "w"), indent=2)
PY
}
