-- bench.lua: the pktgen-dpdk side of `tools/bench pktgen` (doc/benchmarks.md, "pktgen-dpdk").
--
-- pktgen runs this with -f and keeps it running for the whole benchmark: the script waits
-- for command files in the run directory ($LBD_PKTGEN_DIR), runs each, appends one result
-- line per measurement to $LBD_PKTGEN_DIR/results and removes the command file. A command
-- file is Lua calling the functions below, e.g.
--     run{name = "udp-1k", tx = 0, proto = "udp", dst = "10.9.0.100", dport = 5000,
--         flows = 1024, size = 64, secs = 3}
-- The device under test (lbd, or dpdk-testpmd as the peer) may be swapped between
-- commands: pktgen is the memif server (or owns the NIC ports) and keeps its ports.
--
-- Two ports. Port 0 is the client side: its address is CLIENT_GW (the device's gateway
-- for the client addresses, which pktgen answers ARP for); the client flows come from
-- the range CLIENT_NET.x with source ports from 1024. Port 1 is the real server's side:
-- its address REAL is the VIP's real server. pktgen answers ARP on both
-- (pktgen.process), so the device resolves both by itself.
--
-- On hardware the same file runs unchanged: set the environment below to the device's
-- MACs and addresses (doc/benchmarks.md says which) and drop the same command files.

local dir = os.getenv("LBD_PKTGEN_DIR") or "."
local env = function(k, d) return os.getenv(k) or d end

local DUT_MAC = { [0] = env("LBD_PKTGEN_DUT_MAC0", "02:00:00:00:00:01"),
                  [1] = env("LBD_PKTGEN_DUT_MAC1", "02:00:00:00:01:01") }
local OWN_MAC = { [0] = env("LBD_PKTGEN_MAC0", "02:00:00:00:00:02"),
                  [1] = env("LBD_PKTGEN_MAC1", "02:00:00:00:01:02") }
local CLIENT_GW = env("LBD_PKTGEN_CLIENT_GW", "10.0.0.2")   -- pktgen port 0, /24
local REAL = env("LBD_PKTGEN_REAL", "10.1.0.2")             -- pktgen port 1, /24

-- flows -> (addresses, ports) with a period of their product: pktgen's range mode steps
-- every field by one per packet, each wrapping on its own, so the pair repeats after
-- lcm(addresses, ports) packets: coprime counts give addresses x ports distinct flows.
-- (pktgen 23.03 sends the 24,576 packets it built when the port started, over and over:
-- a larger set is cut to that; the result line says how many flows were asked.)
local function gcd(a, b) while b ~= 0 do a, b = b, a % b end return a end
local function split(flows)
    if flows <= 1 then return 1, 1 end
    if flows <= 16384 then return 1, flows end
    local a, n = 17, math.floor(flows / 17)
    while gcd(a, n) ~= 1 do n = n - 1 end
    return a, n
end

local function ip_add(base, n)   -- "172.16.0.1" + n
    local a, b, c, d = base:match("(%d+)%.(%d+)%.(%d+)%.(%d+)")
    local v = ((tonumber(a) * 256 + tonumber(b)) * 256 + tonumber(c)) * 256 + tonumber(d) + n
    return string.format("%d.%d.%d.%d", (v >> 24) & 255, (v >> 16) & 255, (v >> 8) & 255, v & 255)
end

local function now_ns()
    local p = io.popen("date +%s%N")
    local t = tonumber(p:read("*l"))
    p:close()
    return t
end

local function counters()
    local s = {}
    for _, p in ipairs({ 0, 1 }) do
        local st = pktgen.portStats(tostring(p), "port")[p]
        s[p] = { ipackets = st.ipackets, opackets = st.opackets, ierrors = st.ierrors,
                 oerrors = st.oerrors, imissed = st.imissed }
    end
    return s
end

local function result(line)
    local f = io.open(dir .. "/results", "a")
    f:write(line .. "\n")
    f:close()
end

-- The ports' fixed part, once.
function setup()
    pktgen.screen("off")
    for _, p in ipairs({ 0, 1 }) do
        pktgen.process(tostring(p), "on")
        pktgen.set_mac(tostring(p), "dst", DUT_MAC[p])
    end
    pktgen.set_ipaddr("0", "src", CLIENT_GW .. "/24")
    pktgen.set_ipaddr("1", "src", REAL .. "/24")
    -- the single packet of each port (kick below): UDP to the device's own address
    for p, ip in pairs({ [0] = env("LBD_PKTGEN_DUT_IP0", "10.0.0.1"),
                         [1] = env("LBD_PKTGEN_DUT_IP1", "10.1.0.1") }) do
        pktgen.set_ipaddr(tostring(p), "dst", ip)
        pktgen.set_proto(tostring(p), "udp")
        pktgen.set(tostring(p), "dport", 9)
    end
end

-- pktgen 23.03 queues its ARP replies in the port's tx buffer and sends them only when
-- that port next transmits: one packet from the port sends the replies along with it, so
-- the device resolves pktgen's address on a port pktgen is not sending on.
local function kick(p)
    if pktgen.isSending(tostring(p))[p] == "y" then return end
    pktgen.set(tostring(p), "count", 1)
    pktgen.start(tostring(p))
end

-- Range mode on port `tx`: a flow set from `src`:`sport` (addresses x ports, see split)
-- to `dst`:`dport`, or, with reverse = true, from `src`:`sport` to the flow set (the
-- real server answering every client of a forward run).
local function range(c)
    local p = tostring(c.tx)
    local na, np = split(c.flows or 1)
    local set_ip = function(f, first, n)
        f(p, "start", first); f(p, "min", first); f(p, "max", ip_add(first, n - 1))
        f(p, "inc", n > 1 and "0.0.0.1" or "0.0.0.0")
    end
    local set_port = function(f, first, n)
        f(p, "start", first); f(p, "min", first); f(p, "max", first + n - 1)
        f(p, "inc", n > 1 and 1 or 0)
    end
    pktgen.range.dst_mac(p, "start", DUT_MAC[c.tx])
    pktgen.range.src_mac(p, "start", OWN_MAC[c.tx])
    pktgen.range.ip_proto(p, c.proto or "udp")
    local clients, cport = c.clients or "172.16.0.1", c.cport or 1024
    if c.reverse then
        set_ip(pktgen.range.src_ip, c.src, 1)
        set_port(pktgen.range.src_port, c.sport, 1)
        set_ip(pktgen.range.dst_ip, clients, na)
        set_port(pktgen.range.dst_port, cport, np)
    else
        set_ip(pktgen.range.src_ip, clients, na)
        set_port(pktgen.range.src_port, cport, np)
        set_ip(pktgen.range.dst_ip, c.dst, 1)
        set_port(pktgen.range.dst_port, c.dport, 1)
    end
    local size = c.size or 64
    pktgen.range.pkt_size(p, "start", size); pktgen.range.pkt_size(p, "min", size)
    pktgen.range.pkt_size(p, "max", size); pktgen.range.pkt_size(p, "inc", 0)
    pktgen.set_range(p, "on")
    return na * np
end

-- Single mode on port `tx` (ICMP echo requests to the device, or one flow).
local function single(c)
    local p = tostring(c.tx)
    pktgen.set_range(p, "off")
    pktgen.set_proto(p, c.proto)
    pktgen.set_ipaddr(p, "dst", c.dst)
    pktgen.set(p, "size", c.size or 64)
end

-- pktgen refreshes the counters portStats reads once a second: a snapshot taken just
-- after they moved (polled every 5 ms) is their value at that tick, timed.
local function tick(p)
    local s0 = counters()
    for _ = 1, 400 do
        pktgen.delay(5)
        local s = counters()
        if s[p].opackets ~= s0[p].opackets or s[0].ipackets ~= s0[0].ipackets or
           s[1].ipackets ~= s0[1].ipackets then
            return s, now_ns()
        end
    end
    return counters(), now_ns()
end

-- One measurement. pktgen builds its packets into the port's pool when a port starts
-- (24,576 mbufs in range mode: the range's first 24,576 steps; the whole file in pcap
-- mode), so the count starts once the port sends. Then c.warm ms (flows set up, ARP
-- resolved) and c.secs seconds counted while it keeps sending, between two ticks of
-- the counters; or, with c.count, exactly that many packets (every one a new flow when
-- the flow set is new to the device), the rate taken between the first and the last
-- tick while they were being sent. One result line:
--   NAME flows=F size=S secs=T tx_pps=X rx_pps=Y tx=N rx=M rx0=.. rx1=.. missed=..
function run(c)
    local p = tostring(c.tx)
    local flows = c.flows or 1
    if c.mode == "single" then single(c)
    elseif c.mode == "pcap" then pktgen.set_range(p, "off"); pktgen.pcap(p, "on")
    else flows = range(c) end
    if c.mode ~= "pcap" then pktgen.pcap(p, "off") end
    pktgen.set(p, "rate", c.rate or 100)
    pktgen.set(p, "count", c.count or 0)
    if c.count then pktgen.delay(1100) end   -- the counters refreshed since the last run
    local a, ta = counters(), nil
    local b, tb, extra = nil, nil, ""
    local rx_of = function(s) return s[0].ipackets + s[1].ipackets end
    pktgen.start(p)
    if c.count == nil then
        for _ = 1, 800 do   -- the pool is built (seconds on a loaded machine)
            if counters()[c.tx].opackets > a[c.tx].opackets then break end
            pktgen.delay(25)
        end
        local warm = c.warm or 1000
        for _ = 1, 2 do pktgen.delay(math.floor(warm / 4)); kick(1 - c.tx) end
        pktgen.delay(math.floor(warm / 2))
        a, ta = tick(c.tx)
        pktgen.delay(math.floor((c.secs or 3) * 1000) - 100)
        b, tb = tick(c.tx)
        pktgen.stop(p)
    else
        -- ticks until all were sent and nothing more came back for two ticks
        local ticks, quiet, a0 = {}, 0, a
        for i = 1, (c.timeout or 30) do
            local s, t = tick(c.tx)
            if c.kick and i <= 2 then kick(1 - c.tx) end
            ticks[#ticks + 1] = { s = s, t = t }
            if s[c.tx].opackets - a0[c.tx].opackets >= c.count then
                local prev = ticks[#ticks - 1]
                if prev and rx_of(prev.s) == rx_of(s) then quiet = quiet + 1 end
                if quiet >= 1 then break end
            end
        end
        pktgen.stop(p)
        -- the span of ticks during which packets were still being sent: from the first
        -- tick that saw some sent to the last one before all were
        local first, last = nil, nil
        for i, k in ipairs(ticks) do
            local sent = k.s[c.tx].opackets - a0[c.tx].opackets
            if sent > 0 and first == nil then first = i end
            if sent < c.count then last = i end
        end
        if first and last and last > first then
            a, ta, b, tb = ticks[first].s, ticks[first].t, ticks[last].s, ticks[last].t
        else   -- all in one second: the whole burst over the time to its first tick
            b, tb = ticks[#ticks].s, ticks[#ticks].t
            ta = tb - 1e9
        end
        local z = ticks[#ticks].s
        extra = string.format(" all_tx=%d all_rx0=%d all_rx1=%d", z[c.tx].opackets -
                              a0[c.tx].opackets, z[0].ipackets - a0[0].ipackets,
                              z[1].ipackets - a0[1].ipackets)
    end
    local secs = math.max((tb - ta) / 1e9, 0.001)
    local tx = b[c.tx].opackets - a[c.tx].opackets
    local rx0, rx1 = b[0].ipackets - a[0].ipackets, b[1].ipackets - a[1].ipackets
    local missed = b[0].imissed - a[0].imissed + b[1].imissed - a[1].imissed
    result(string.format("%s flows=%d size=%d secs=%.3f tx_pps=%.0f rx_pps=%.0f tx=%d rx=%d " ..
                         "rx0=%d rx1=%d missed=%d%s", c.name, flows, c.size or 64, secs,
                         tx / secs, (rx0 + rx1) / secs, tx, rx0 + rx1, rx0, rx1, missed, extra))
    pktgen.delay(300)
end

-- The command loop: $dir/cmd.lua is run and removed; $dir/quit ends pktgen.
setup()
result("ready")
while true do
    local f = io.open(dir .. "/cmd.lua", "r")
    if f then
        f:close()
        local ok, err = pcall(dofile, dir .. "/cmd.lua")
        if not ok then result("error " .. tostring(err):gsub("\n", " ")) end
        os.remove(dir .. "/cmd.lua")
        result("done")
    end
    local q = io.open(dir .. "/quit", "r")
    if q then q:close(); break end
    pktgen.delay(100)
end
pktgen.quit()
