#!/usr/bin/env python3
"""prom.py: what tests/lab/t_metrics.sh needs to read lbd's Prometheus metrics.

  prom.py parse FILE                   checks the exposition format, prints the families
  prom.py value FILE 'name{a="b",...}' prints the value of that sample (exit 1: none)
  prom.py cover STATS.json FILE        every number of the stats reply has its sample,
                                       by the names doc/metrics.md gives (exit 1: not)
  prom.py hold HOST PORT N SECONDS     opens N connections, sends nothing, holds them
"""
import json
import re
import socket
import sys
import time

SAMPLE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})? (\S+)$')
LABEL = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"(,|$)')


def unescape(v):
    return re.sub(r'\\(.)', lambda m: '\n' if m.group(1) == 'n' else m.group(1), v)


def parse(text):
    """{(name, frozenset of labels): value}; raises ValueError on a bad line."""
    samples, types, family = {}, {}, None
    for line in text.splitlines():
        if line.startswith('# HELP '):
            continue
        if line.startswith('# TYPE '):
            _, _, name, kind = line.split(' ', 3)
            if name in types:
                raise ValueError('family %s declared twice' % name)
            if kind == 'counter' and not name.endswith('_total'):
                raise ValueError('counter %s does not end in _total' % name)
            types[name] = kind
            family = name
            continue
        m = SAMPLE.match(line)
        if m is None:
            raise ValueError('bad line: %r' % line)
        name, labels = m.group(1), {}
        if name != family:
            raise ValueError('sample %s outside its family %s' % (name, family))
        rest = m.group(3) or ''
        while rest:
            lm = LABEL.match(rest)
            if lm is None:
                raise ValueError('bad labels: %r' % line)
            labels[lm.group(1)] = unescape(lm.group(2))
            rest = rest[lm.end():]
        samples[(name, frozenset(labels.items()))] = float(m.group(4))
    return samples, types


def key(spec):
    m = SAMPLE.match(spec + ' 0')
    labels = dict((k, unescape(v)) for k, v, _ in LABEL.findall(m.group(3) or ''))
    return (m.group(1), frozenset(labels.items()))


WORKER_GAUGES = {'lcore', 'l4_conns_active', 'l4_persist_entries', 'proxy_sessions',
                 'mbufs_in_use', 'mbuf_pool', 'timers_pending'}
RENAMES = {'active_conns': 'current_connections', 'total_conns': 'connections_total'}


def expected(stats):
    """(name, labels, where) for every number of a stats result (doc/metrics.md)."""
    out = []

    def add(name, labels, where):
        out.append((name, frozenset(labels.items()), where))

    for k, v in stats.items():
        if k == 'drops':
            for r in v:
                add('lbd_drops_total', {'reason': r}, 'drops.' + r)
        elif k in ('neighbours', 'tsc_hz'):
            add('lbd_' + k, {}, k)
        elif isinstance(v, (int, float)):
            add('lbd_%s_total' % k, {}, k)
    for vs in stats['virtual_services']:
        sl = {'service': vs['label']}
        for k, v in vs.items():
            if isinstance(v, (int, float)) and not isinstance(v, bool):
                add('lbd_service_' + RENAMES.get(k, k + '_total'), sl, vs['label'] + '.' + k)
        for rs in vs['real_servers']:
            rl = dict(sl, server=rs['label'])
            for k, v in rs.items():
                if k == 'port' or not isinstance(v, (int, float)) or isinstance(v, bool):
                    continue
                name = 'weight' if k == 'weight' else RENAMES.get(k, k + '_total')
                add('lbd_server_' + name, rl, '%s/%s.%s' % (vs['label'], rs['label'], k))
    for w in stats['workers']:
        wl = {'worker': str(w['worker'])}
        for k, v in w.items():
            where = 'workers[%d].%s' % (w['worker'], k)
            if k == 'worker':
                continue
            if k == 'drops':
                for r in v:
                    add('lbd_worker_drops_total', dict(wl, reason=r), where + '.' + r)
            elif k == 'cycles':
                for st in v:
                    add('lbd_worker_cycles_total', dict(wl, stage=st), where + '.' + st)
            elif k == 'tcp':
                for tk, tv in v.items():
                    if tk == 'states':
                        for s in tv:
                            add('lbd_worker_tcp_connections_by_state', dict(wl, state=s),
                                where + '.states.' + s)
                    elif tk == 'conns':
                        add('lbd_worker_tcp_connections', wl, where + '.conns')
                    elif tk == 'buf_segs':
                        add('lbd_worker_tcp_buffered_segments', wl, where + '.buf_segs')
                    elif tk == 'rcvbuf_bytes':
                        add('lbd_worker_tcp_receive_buffer_bytes', wl, where + '.rcvbuf_bytes')
                    elif tk == 'sndbuf_grown_bytes':
                        add('lbd_worker_tcp_send_buffer_grown_bytes', wl,
                            where + '.sndbuf_grown_bytes')
                    else:
                        add('lbd_worker_tcp_%s_total' % tk, wl, where + '.' + tk)
            elif k in WORKER_GAUGES:
                add('lbd_worker_' + k, wl, where)
            elif isinstance(v, (int, float)):
                add('lbd_worker_%s_total' % k, wl, where)
    for p in stats['ports']:
        pl = {'port': str(p['port'])}
        for k, v in p.items():
            if k != 'port':
                add('lbd_port_%s_total' % k, pl, 'ports[%d].%s' % (p['port'], k))
    return out


def main():
    cmd = sys.argv[1]
    if cmd == 'parse':
        samples, types = parse(open(sys.argv[2]).read())
        print('%d families, %d samples' % (len(types), len(samples)))
    elif cmd == 'value':
        samples, _ = parse(open(sys.argv[2]).read())
        k = key(sys.argv[3])
        if k not in samples:
            print('no sample %s' % sys.argv[3])
            sys.exit(1)
        v = samples[k]
        print(int(v) if v == int(v) else v)
    elif cmd == 'cover':
        stats = json.load(open(sys.argv[2]))
        stats = stats.get('result', stats)
        samples, _ = parse(open(sys.argv[3]).read())
        exp = expected(stats)
        missing = [w + ' -> ' + n for n, l, w in exp if (n, l) not in samples]
        print('%d numbers of stats, %d samples, %d missing' % (len(exp), len(samples),
                                                                len(missing)))
        for m in missing[:30]:
            print('missing: ' + m)
        sys.exit(1 if missing or len(exp) < 100 else 0)
    elif cmd == 'hold':
        host, port, n, secs = sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), float(sys.argv[5])
        socks = [socket.create_connection((host, port), timeout=5) for _ in range(n)]
        print('holding %d connections' % len(socks), flush=True)
        time.sleep(secs)
        for s in socks:
            s.close()
    else:
        sys.exit('unknown command ' + cmd)


if __name__ == '__main__':
    main()
