#!/usr/bin/env bash
# Live reconfiguration through the API: whole-config apply (refused with the field path
# and nothing changed when invalid), service and real-server edits, and config.save
# writing the running config back atomically, only in its own directory. No restart at
# any point.
source "$(dirname "$0")/lib.sh"

"$lab" up >/dev/null || exit 1
cp "$top/config/lab.json" "$tmp/running.json"
check "lbd starts" "$lab" lbd start --config "$tmp/running.json"
pid=$("$lab" lbd pid)
ping1() { on c1 ping -c 1 -W 1 "$1"; }

# An invalid whole config: refused, naming the field; the running one is untouched.
make_config "$tmp/bad.json" 'c["virtual_services"][0]["real_servers"][1]["weight"] = 70000'
check "invalid config.apply names the field" \
    bash -c "'$lab' lbctl config apply $tmp/bad.json 2>&1 | grep -F 'virtual_services[0].real_servers[1].weight'"
check "invalid config.apply changed nothing" \
    bash -c "'$lab' lbctl --json config get | grep -q '\"weight\":100' && ! '$lab' lbctl --json config get | grep -q 70000"
make_config "$tmp/restart.json" 'c["interfaces"].pop()'
check "removing a port is refused (needs a restart)" \
    bash -c "'$lab' lbctl config apply $tmp/restart.json 2>&1 | grep -q 'needs a restart'"

# A valid config adding a service: its VIP answers at once.
make_config "$tmp/good.json" 'c["virtual_services"].append({"label": "Added", "ip": "192.168.112.150", "ports": [8080], "layer": 7, "real_servers": [{"label": "a", "ip": "192.168.112.51"}]}); c["virtual_services"][0]["real_servers"][0]["weight"] = 40'
check "VIP of a service not yet added does not answer" bash -c "! '$lab' exec c1 ping -c 1 -W 1 192.168.112.150"
check "valid config.apply is applied" "$lab" lbctl config apply "$tmp/good.json"
check "the added VIP answers ping" ping1 192.168.112.150
check "the new weight is running" bash -c "'$lab' lbctl vs list | grep -E 'rs1 .*weight=40'"

# Edits, one field at a time.
check "rs drain" "$lab" lbctl rs drain Web rs2
check "rs halt" "$lab" lbctl rs halt Web rs3
check "rs weight" "$lab" lbctl rs weight Web rs1 77
check "states and weight shown" bash -c "'$lab' lbctl vs list | grep -E 'rs2 .*drain' && '$lab' lbctl vs list | grep -E 'rs3 .*halt' && '$lab' lbctl vs list | grep -E 'rs1 .*weight=77'"
check "rs set with a bad state is refused, naming the field" \
    bash -c "'$lab' lbctl rs set Web rs1 state=sleepy 2>&1 | grep -F 'virtual_services[0].real_servers[0].state'"
check "rs set of an unknown server is not_found" \
    bash -c "'$lab' lbctl rs set Web nosuch weight=1 2>&1 | grep -q not_found"
check "rs add" "$lab" lbctl rs add Web '{"label": "rs4", "ip": "192.168.112.58", "port": 443}'
check "rs add of an existing label is refused" \
    bash -c "'$lab' lbctl rs add Web '{\"label\": \"rs4\", \"ip\": \"192.168.112.59\"}' 2>&1 | grep -q exists"
check "rs del" "$lab" lbctl rs del Web rs4
check "vs set changes ports" "$lab" lbctl vs set Added 'ports=[8080,8081]'
check "vs set cannot rename" bash -c "'$lab' lbctl vs set Added label=Other 2>&1 | grep -q 'cannot be changed'"
check "vs del" "$lab" lbctl vs del Added
# Maglev tables: a change to one service computes only that service's table; the
# others are shared with the snapshot before.
check "a maglev service is added" "$lab" lbctl vs add '{"label": "Hashed", "ip": "192.168.112.151", "ports": [9000], "protocol": "udp", "layer": 4, "scheduler": "maglev", "real_servers": [{"label": "a", "ip": "192.168.112.51"}, {"label": "b", "ip": "192.168.112.52"}]}'
mg0=$(stat "(r['maglev_tables_built'], r['maglev_tables_reused'], r['snapshots_published'], r['route_tables_reused'])")
check "an edit elsewhere reuses the maglev table" bash -c "'$lab' lbctl rs weight Web rs1 76 && sleep 0.2"
mg1=$(stat "(r['maglev_tables_built'], r['maglev_tables_reused'], r['snapshots_published'], r['route_tables_reused'])")
check "  no table computed, one reused, the route table shared (before $mg0, after $mg1)" python3 -c "a=$mg0; b=$mg1; import sys; sys.exit(0 if b[0]==a[0] and b[1]>a[1] and b[2]>a[2] and b[3]>a[3] else 1)"
check "halting a server of the maglev service computes its table" "$lab" lbctl rs halt Hashed b
mg2=$(stat "(r['maglev_tables_built'], r['maglev_tables_reused'])")
check "  one table computed (before $mg1, after $mg2)" python3 -c "a=$mg1; b=$mg2; import sys; sys.exit(0 if b[0]==a[0]+1 else 1)"
check "vs del of the maglev service" "$lab" lbctl vs del Hashed
check "rs weight back" "$lab" lbctl rs weight Web rs1 77
check "the removed VIP is silent" bash -c "! '$lab' exec c1 ping -c 1 -W 1 192.168.112.150"
check "edits on the API: malformed arguments are refused" \
    bash -c "'$lab' lbctl raw '{\"cmd\":\"rs.set\",\"vs\":5}' | grep -q invalid_argument && '$lab' lbctl raw '{\"cmd\":\"vs.add\"}' | grep -q invalid_argument && '$lab' lbctl raw '{\"cmd\":\"config.apply\",\"config\":[]}' | grep -q invalid_argument"

# Save: the file on disk becomes the running config, written atomically.
check "config.save" "$lab" lbctl config save
check "saved file holds the running config" \
    bash -c "python3 -c 'import json,sys; c=json.load(open(\"$tmp/running.json\")); rs=c[\"virtual_services\"][0][\"real_servers\"]; sys.exit(0 if rs[0][\"weight\"]==77 and rs[1][\"state\"]==\"drain\" and len(c[\"virtual_services\"])==2 else 1)'"
check "saved file is a valid config" "$LBD_BUILD/control/lbd" -- --config "$tmp/running.json" --check
check "no temporary file left" bash -c "! ls $tmp | grep -q tmp"
check "config.save outside the config's directory is refused" \
    bash -c "'$lab' lbctl config save /proc/nope.json 2>&1 | grep -q not_permitted"
check "config.save through '..' is refused" \
    bash -c "'$lab' lbctl config save ../nope.json 2>&1 | grep -q not_permitted"
check "config.save to another file of the directory" \
    bash -c "'$lab' lbctl config save copy.json && cmp -s $tmp/running.json $tmp/copy.json"
mkdir "$tmp/adir.json"
check "config.save that cannot write is an io_error, nothing left" \
    bash -c "'$lab' lbctl config save adir.json 2>&1 | grep -q io_error && ! ls $tmp | grep -q tmp"
check "the daemon never restarted" bash -c "[[ \$('$lab' lbd pid) == $pid ]] && kill -0 $pid"
check "lbd still answers ping" ping1 192.168.112.110

done_testing
