#!/usr/bin/env python3
"""verdict: reads the results of tests/lab/sfb/t_sfb.sh's clients (OUT/*.json, OUT/events)
and prints the table (lines starting with #) and one line per verdict:
"ok|DESCRIPTION|DETAIL" or "fail|DESCRIPTION|DETAIL".

What the HA design says (doc/operator-guide.md, "The HA pair"): Layer 7 connections end
at a takeover and the clients reconnect to the same real server (synced persistence);
Layer 4 flows (STUN/TURN, media) carry on with a gap of about the takeover time. So a
client fails only inside a window of an appliance it goes through (from the kill, or
the returning master's start, to GRACE seconds after the new master took over), and is
served again within that window.
"""
import glob
import json
import os
import sys

GRACE = 4.0


def takeover(name, state, lab, t0, event, events):
    """verdict.py --takeover NAME STATE LAB T0 EVENT EVENTS: polls `lbctl ha` of NAME every
    50 ms until it is in STATE, prints the seconds that took and logs EVENT (its time from
    T0) to the EVENTS file; "none" and exit 1 after 20 s."""
    import subprocess
    import time
    t = time.monotonic()
    while time.monotonic() - t < 20:
        try:
            r = json.loads(subprocess.run([lab, "lbctl", "--name", name, "--json", "ha"],
                                          capture_output=True, timeout=2).stdout)["result"]
            if r["state"] == state:
                n = time.monotonic()
                with open(events, "a") as f:
                    f.write("%.2f %s\n" % (n - float(t0), event))
                print(round(n - t, 2))
                sys.exit(0)
        except (ValueError, KeyError, subprocess.TimeoutExpired):
            pass
        time.sleep(0.05)
    print("none")
    sys.exit(1)


if sys.argv[1] == "--takeover":
    takeover(*sys.argv[2:8])
out = sys.argv[1]
t0 = json.load(open(os.path.join(out, "t0.json")))["t0"]
events = {}
for line in open(os.path.join(out, "events")):
    p = line.split()
    events.setdefault(p[1], t0 + float(p[0]))
verdicts = []


def verdict(ok, desc, detail=""):
    verdicts.append(("ok" if ok else "fail", desc, str(detail).replace("|", "/").replace("'", "")))


# The windows during which an appliance may fail its clients.
win = {
    "lb1": [(events["kill-lb1"], events["lb1b-master"] + GRACE),
            (events["restart"], events.get("lb1a-master", events["end"]) + GRACE)],
    "lb2": [(events["kill-lb2"], events["lb2b-master"] + GRACE),
            (events["restart"], events.get("lb2a-master", events["end"]) + GRACE)],
}
# What each client goes through (a direct client's answers come back through LB2 when the
# server is an Edge server: LB2 is its router).
VIA = {"fe": ["lb1"], "dir": ["lb1"], "edgeint": ["lb1"], "new": ["lb1"], "ext": ["lb2"],
       "direct-fe1": [], "direct-edge1": ["lb2"], "wsint": ["lb1"], "dirwsint": ["lb1"],
       "owa": ["lb1"], "wsext8080": ["lb1"], "direct-fe2": [], "rp": ["lb1"],
       "edgeweb": ["lb2"]}


COOKIE_CLIENTS = ("wsext8080", "rp-http-24", "rp-http-25", "rp-http-26", "rp-dir-http")


def via(name):
    for k in sorted(VIA, key=len, reverse=True):
        if name == k or name.startswith(k + "-"):
            return VIA[k]
    raise KeyError(name)


def in_windows(t, lbs):
    return any(a <= t <= b for lb in lbs for a, b in win[lb])


def rel(t):
    return round(t - t0, 2)


rows = []
fe2_before = []          # SIP clients on FE2 before the drain
for path in sorted(glob.glob(os.path.join(out, "sip-*.json")) + glob.glob(os.path.join(out, "web-*.json"))):
    kind, name = os.path.basename(path)[:-5].split("-", 1)
    r = json.load(open(path))
    ev = r["events"]
    lbs = via(name)
    ok = [e for e in ev if e[1] is not None]
    fails = [e for e in ev if e[1] is None]
    outside = [rel(e[0]) for e in fails if not in_windows(e[0], lbs)]
    gap = 0.0
    for a, b in zip(ok, ok[1:]):
        gap = max(gap, b[0] - a[0])
    servers = sorted({e[1] for e in ok})
    rows.append((kind, name, "+".join(lbs) or "direct", len(ev), len(fails), round(gap, 2),
                 ",".join(servers), len({e[2] for e in ev}) if kind == "sip" else "-"))
    verdict(bool(ev) and ev[0][1] is not None and not outside and
            all(e[1] is not None for e in ev[-8:]),
            "%s %s: served from the start, failures only while %s took over, served at the end"
            % (kind, name, "/".join(lbs) or "nothing"),
            "requests %d, failed %d, outside the windows at %s, longest gap %.2f s"
            % (len(ev), len(fails), outside, gap))
    if lbs:
        verdict(gap < 12.0, "%s %s: served again within 12 s of each failure" % (kind, name),
                "longest gap %.2f s" % gap)
    # Persistence: one server between events (source IP for SIP and the internal web
    # services, the MS-WSMAN cookie for the external ones), except that a drained FE2's
    # connections move once they end.
    if kind == "sip" and name.startswith(("fe-", "dir-", "edgeint-", "ext-", "new-")):
        before = [e for e in ok if e[0] < events["drain"]]
        if before and before[0][1] == "FE2":
            fe2_before.append(name)
            held = [e for e in ok if events["drain"] <= e[0] < events["kill-lb1"]]
            verdict(held and all(e[1] == "FE2" and e[2] == before[-1][2] for e in held),
                    "sip %s: on FE2 before the drain, its connection carries on on FE2 after it" % name,
                    "%d registrations between the drain and the LB1 kill, on %s, connections %s"
                    % (len(held), sorted({e[1] for e in held}), sorted({e[2] for e in held})))
            later = [e for e in ok if e[0] >= events["lb1b-master"]]
            verdict(later and all(e[1] != "FE2" for e in later) and len({e[1] for e in later}) == 1,
                    "sip %s: once its connection ended (LB1 kill) it reconnects elsewhere, and stays" % name,
                    "after the takeover: %s" % sorted({e[1] for e in later}))
        elif name.startswith("new-"):
            verdict(ok and all(e[1] != "FE2" for e in ok) and len(servers) == 1,
                    "sip %s: a new user after the drain never goes to FE2, one server throughout" % name,
                    "servers %s" % servers)
        else:
            verdict(len(servers) == 1,
                    "sip %s: one real server throughout, across both takeovers (synced persistence)" % name,
                    "servers %s" % servers)
    if kind == "web" and lbs == ["lb1"] and name != "direct-fe2":
        after = [e for e in ok if e[0] > events["drain"] + 0.5]
        verdict(all(e[1] != "FE2" for e in after),
                "web %s: no request goes to the drained FE2 after the drain" % name,
                "servers after the drain %s" % sorted({e[1] for e in after}))
    if kind == "web" and name in COOKIE_CLIENTS:
        # Each unit draws its own cookie key when it starts (doc/operator-guide.md), so a
        # change of master gives the user a new cookie, and the drain moves FE2's users:
        # in each period between those events the user stays on one server, but for one
        # move within GRACE s of the period's start or end (polling slop of the events).
        cuts = sorted([events["drain"], events["kill-lb1"],
                       events.get("lb1a-master", events["restart"]), events["end"] + 1])
        segs, bad, t = [], [], ev[0][0] - 1
        for c in cuts:
            seq = [e for e in ok if t < e[0] < c]
            segs.append(sorted({e[1] for e in seq}))
            moves = [b[0] for a, b in zip(seq, seq[1:]) if a[1] != b[1]]
            if len(moves) > 1 or any(t + GRACE < m < c - GRACE for m in moves):
                bad.append([rel(m) for m in moves])
            t = c
        verdict("MS-WSMAN" in r["cookies"] and not bad,
                "web %s: the MS-WSMAN cookie holds it to one server, a new connection every request" % name,
                "cookie %s; servers per period (start, drain, LB1 kill, lb1a master again): %s%s"
                % (r["cookies"].get("MS-WSMAN"), segs, "; moves at %s" % bad if bad else ""))
verdict(len(fe2_before) >= 1, "at least one SIP user was on FE2 before the drain",
        "on FE2: %s" % fe2_before)

# TURN and media.
for path in sorted(glob.glob(os.path.join(out, "turn-*.json"))):
    name = os.path.basename(path)[5:-5]
    r = json.load(open(path))
    src = {"int-udp": "192.168.112.36", "ext-udp": "10.200.60.31", "ext-tcp": "10.200.60.32"}[name]
    mpath = os.path.join(out, "media-%s.json" % name)
    m = json.load(open(mpath)) if os.path.exists(mpath) else {}
    relay_ip = r["relayed"].split(":")[0]
    verdict(r["mapped"].split(":")[0] == src,
            "turn %s: the Edge saw the client's own address (Layer 4 NAT keeps it)" % name,
            "mapped %s, client %s" % (r["mapped"], src))
    verdict(relay_ip in ("10.200.50.121", "10.200.50.122"),
            "turn %s: relayed on the Edge server's own public A/V address" % name,
            "relayed %s" % r["relayed"])
    verdict(m.get("from") == [r["relayed"]] and m.get("to") == r["relayed"],
            "media %s: the far party sends straight to the Edge's address and hears only it" % name,
            "to %s, from %s" % (m.get("to"), m.get("from")))
    verdict(r["got"] >= 0.8 * m.get("sent", 1) and m.get("got", 0) >= 0.8 * r["sent"] and
            r["max_gap_s"] < 8 and m.get("max_gap_s", 99) < 8 and r["errors"] == 0,
            "media %s: both ways through all four takeovers, gaps under 8 s" % name,
            "client sent %d got %d (gap %.2f s); far party sent %d got %d (gap %.2f s)"
            % (r["sent"], r["got"], r["max_gap_s"], m.get("sent", 0), m.get("got", 0),
               m.get("max_gap_s", 99)))
    rows.append(("turn", name, "lb1" if name == "int-udp" else "lb2", r["sent"],
                 r["sent"] - m.get("got", 0), r["max_gap_s"], r["relayed"], "-"))
    rows.append(("media", name, "lb2 (router)", m.get("sent", 0), m.get("sent", 0) - r["got"],
                 m.get("max_gap_s", 99), ",".join(m.get("from", [])), "-"))

print("# %-5s %-14s %-13s %8s %8s %8s  %-24s %s" % ("kind", "client", "through", "requests",
                                                   "failed", "gap s", "servers", "conns"))
for row in rows:
    print("# %-5s %-14s %-13s %8s %8s %8s  %-24s %s" % row)
print("# events (s from the start): " + ", ".join("%s %.2f" % (k, rel(v)) for k, v in
                                                 sorted(events.items(), key=lambda kv: kv[1])))
print("# takeovers: LB1 %.2f s after the kill, LB2 %.2f s; preempt back: LB1 %.2f s, LB2 %.2f s"
      " after the restart began" % (events["lb1b-master"] - events["kill-lb1"],
                                    events["lb2b-master"] - events["kill-lb2"],
                                    events.get("lb1a-master", 0) - events["restart"],
                                    events.get("lb2a-master", 0) - events["restart"]))
for v in verdicts:
    print("|".join(v))
