#!/usr/bin/env python3
"""sfb_peer: the Skype for Business lab's servers and clients (tests/lab/sfb/run).

  server NAME CERT KEY ADDR:PORT[:tls]...
      One process per server: a listener on each ADDR:PORT (TLS with CERT/KEY when marked
      tls). A connection is SIP when its first line is a SIP request (REGISTER, OPTIONS):
      each gets "SIP/2.0 200 OK" naming the server (Server: NAME); HTTP otherwise: every
      request gets 200 with the body "NAME" (keep-alive). A health check's connect and
      close costs nothing.
  sip NAME SRC VIP PORT tls|tcp SECONDS INTERVAL OUT
      A SIP client from SRC: REGISTER, then a re-REGISTER every INTERVAL s on the same
      connection, for SECONDS; a connection that fails is opened again (200 ms later).
      OUT: JSON with every REGISTER's time, server (null: failed) and connection number.
  web NAME SRC URL SECONDS INTERVAL OUT [--cookie]
      An HTTP(S) client from SRC, one request every INTERVAL s on a new connection each
      time, sending back the cookies it got (--cookie: MS-WSMAN must come back). OUT as sip.
  turn NAME SRC VIP PORT udp|tcp PEER SECONDS OUT RELAYFILE
      A TURN client (RFC 5766, the Edge's coturn without authentication) from SRC through
      VIP: Allocate (the mapped address must be SRC: the client's address is preserved),
      CreatePermission for PEER's address, write the relayed address (the Edge server's own
      public address) to RELAYFILE, then exchange media with PEER for SECONDS: a Send
      indication every 20 ms, and the Data indications PEER's packets come back in.
  media NAME SRC RELAYFILE SECONDS OUT
      The far party: waits for RELAYFILE, then sends a packet every 20 ms straight to the
      relayed address (the Edge server's public address, not a VIP) and counts what comes
      back from it.
OUT of turn and media: sent, got, the longest silence, the peer address seen.
"""
import json
import os
import socket
import ssl
import struct
import sys
import threading
import time

MAGIC = 0x2112A442


def now():
    return time.monotonic()


# ------------------------------------------------------------------ servers
def read_until(sock, buf, sep=b"\r\n\r\n"):
    while sep not in buf:
        d = sock.recv(4096)
        if not d:
            return None, buf
        buf += d
    i = buf.index(sep) + len(sep)
    return buf[:i], buf[i:]


def serve_conn(name, sock):
    buf = b""
    try:
        while True:
            head, buf = read_until(sock, buf)
            if head is None:
                return
            lines = head.decode("latin-1").split("\r\n")
            hdr = {}
            for l in lines[1:]:
                if ":" in l:
                    k, v = l.split(":", 1)
                    hdr[k.strip().lower()] = v.strip()
            n = int(hdr.get("content-length", "0") or 0)
            while len(buf) < n:
                d = sock.recv(4096)
                if not d:
                    return
                buf += d
            buf = buf[n:]
            if lines[0].endswith("SIP/2.0"):
                out = ["SIP/2.0 200 OK"]
                for k in ("via", "from", "call-id", "cseq"):
                    if k in hdr:
                        out.append("%s: %s" % (k.title(), hdr[k]))
                out.append("To: %s;tag=%s" % (hdr.get("to", ""), name))
                out.append("Contact: %s;expires=1200" % hdr.get("contact", "<sip:u@lab>"))
                out.append("Server: %s" % name)
                out.append("Content-Length: 0")
                sock.sendall(("\r\n".join(out) + "\r\n\r\n").encode())
            else:
                body = (name + "\n").encode()
                sock.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n"
                             b"Content-Length: %d\r\n\r\n%s" % (len(body), body))
                if hdr.get("connection", "").lower() == "close":
                    return
    except (OSError, ssl.SSLError, ValueError):
        return
    finally:
        try:
            sock.close()
        except OSError:
            pass


def listener(name, addr, port, ctx):
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind((addr, port))
    s.listen(256)
    while True:
        c, _ = s.accept()
        threading.Thread(target=handshake_and_serve, args=(name, c, ctx), daemon=True).start()


def handshake_and_serve(name, c, ctx):
    if ctx is not None:
        c.settimeout(10)
        try:
            c = ctx.wrap_socket(c, server_side=True)
        except (OSError, ssl.SSLError):
            c.close()
            return
        c.settimeout(None)
    serve_conn(name, c)


def server(name, cert, key, specs):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(cert, key)
    for spec in specs:
        parts = spec.split(":")
        threading.Thread(target=listener, daemon=True,
                         args=(name, parts[0], int(parts[1]),
                               ctx if parts[2:] == ["tls"] else None)).start()
    while True:
        time.sleep(3600)


# ------------------------------------------------------------------ clients
def client_ctx():
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    return ctx


def connect(src, vip, port, tls, timeout=3.0):
    s = socket.create_connection((vip, port), timeout=timeout, source_address=(src, 0))
    if tls:
        s = client_ctx().wrap_socket(s)
    s.settimeout(timeout)
    return s


def sip_client(name, src, vip, port, tls, seconds, interval, out):
    ev, conn, cseq, s, buf = [], 0, 0, None, b""
    t_end = now() + seconds
    while now() < t_end:
        t = now()
        try:
            if s is None:
                conn += 1
                s = connect(src, vip, port, tls == "tls")
                buf = b""
            cseq += 1
            msg = ("REGISTER sip:lab SIP/2.0\r\nVia: SIP/2.0/%s %s;branch=z9hG4bK%d\r\n"
                   "From: <sip:%s@lab>;tag=%s\r\nTo: <sip:%s@lab>\r\nCall-ID: %s-%d@lab\r\n"
                   "CSeq: %d REGISTER\r\nContact: <sip:%s@%s>\r\nExpires: 1200\r\n"
                   "Content-Length: 0\r\n\r\n") % (tls.upper(), src, cseq, name, name, name,
                                                   name, conn, cseq, name, src)
            s.sendall(msg.encode())
            head, buf = read_until(s, buf)
            if head is None or not head.startswith(b"SIP/2.0 200"):
                raise OSError("no 200")
            srv = [l.split(":", 1)[1].strip() for l in head.decode().split("\r\n")
                   if l.lower().startswith("server:")][0]
            ev.append([t, srv, conn])
        except (OSError, ssl.SSLError, IndexError):
            ev.append([t, None, conn])
            try:
                if s is not None:
                    s.close()
            except OSError:
                pass
            s = None
            time.sleep(0.2)
            continue
        time.sleep(max(0.0, interval - (now() - t)))
    if s is not None:
        s.close()
    json.dump({"events": ev}, open(out, "w"))


def web_client(name, src, url, seconds, interval, out, want_cookie):
    proto, rest = url.split("://")
    hostport, path = (rest.split("/", 1) + [""])[:2]
    host, port = (hostport.split(":") + [None])[:2]
    port = int(port) if port else (443 if proto == "https" else 80)
    cookies, ev = {}, []
    t_end = now() + seconds
    while now() < t_end:
        t = now()
        try:
            s = connect(src, host, port, proto == "https")
            ck = "; ".join("%s=%s" % kv for kv in cookies.items())
            req = "GET /%s HTTP/1.1\r\nHost: %s\r\nUser-Agent: %s\r\n%sConnection: close\r\n\r\n" % (
                path, host, name, ("Cookie: %s\r\n" % ck) if ck else "")
            s.sendall(req.encode())
            data = b""
            while True:
                d = s.recv(4096)
                if not d:
                    break
                data += d
            s.close()
            head, _, body = data.partition(b"\r\n\r\n")
            if not head.startswith(b"HTTP/1.1 200"):
                raise OSError("status")
            for l in head.decode("latin-1").split("\r\n"):
                if l.lower().startswith("set-cookie:"):
                    k, v = l.split(":", 1)[1].strip().split(";")[0].split("=", 1)
                    cookies[k] = v
            if want_cookie and "MS-WSMAN" not in cookies:
                raise OSError("no MS-WSMAN cookie")
            ev.append([t, body.decode().strip(), 0])
        except (OSError, ssl.SSLError, ValueError):
            ev.append([t, None, 0])
        time.sleep(max(0.0, interval - (now() - t)))
    json.dump({"events": ev, "cookies": cookies}, open(out, "w"))


# ------------------------------------------------------------------ STUN / TURN
def attr(t, v):
    return struct.pack("!HH", t, len(v)) + v + b"\0" * ((4 - len(v) % 4) % 4)


def xaddr(ip, port):
    a = struct.unpack("!I", socket.inet_aton(ip))[0] ^ MAGIC
    return struct.pack("!BBHI", 0, 1, port ^ (MAGIC >> 16), a)


def msg(mtype, attrs, tid=None):
    tid = tid or os.urandom(12)
    body = b"".join(attrs)
    return struct.pack("!HHI", mtype, len(body), MAGIC) + tid + body


def parse(data):
    if len(data) < 20:
        return None
    mtype, ln, magic = struct.unpack("!HHI", data[:8])
    if magic != MAGIC or len(data) < 20 + ln:
        return None
    attrs, i = {}, 20
    while i + 4 <= 20 + ln:
        t, l = struct.unpack("!HH", data[i:i + 4])
        attrs[t] = data[i + 4:i + 4 + l]
        i += 4 + l + ((4 - l % 4) % 4)
    return mtype, data[8:20], attrs, 20 + ln


def unx(v):
    port = struct.unpack("!H", v[2:4])[0] ^ (MAGIC >> 16)
    ip = socket.inet_ntoa(struct.pack("!I", struct.unpack("!I", v[4:8])[0] ^ MAGIC))
    return ip, port


class Turn:
    def __init__(self, src, vip, port, proto):
        self.tcp = proto == "tcp"
        if self.tcp:
            self.s = socket.create_connection((vip, port), timeout=3, source_address=(src, 0))
        else:
            self.s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            self.s.bind((src, 0))
            self.s.connect((vip, port))
        self.s.settimeout(0.05)
        self.buf = b""

    def send(self, m):
        self.s.send(m)

    def recv(self):
        """One STUN message or None (timeout)."""
        try:
            if not self.tcp:
                return parse(self.s.recv(2048))
            while True:
                p = parse(self.buf)
                if p:
                    self.buf = self.buf[p[3]:]
                    return p
                d = self.s.recv(4096)
                if not d:
                    raise OSError("closed")
                self.buf += d
        except socket.timeout:
            return None

    def request(self, mtype, attrs, tries=20):
        tid = os.urandom(12)
        for _ in range(tries):
            self.send(msg(mtype, attrs, tid))
            t_end = now() + 0.5
            while now() < t_end:
                p = self.recv()
                if p and p[1] == tid:
                    return p
        raise OSError("no answer to 0x%04x" % mtype)


def turn_client(name, src, vip, port, proto, peer, seconds, out, relayfile):
    t = Turn(src, vip, port, proto)
    r = t.request(0x0003, [attr(0x0019, b"\x11\0\0\0"), attr(0x000D, struct.pack("!I", 600))])
    if r[0] != 0x0103:
        raise SystemExit("allocate failed: 0x%04x %r" % (r[0], r[2].get(0x0009)))
    relay, mapped = unx(r[2][0x0016]), unx(r[2][0x0020])
    r = t.request(0x0008, [attr(0x0012, xaddr(peer, 1))])
    if r[0] != 0x0108:
        raise SystemExit("permission failed: 0x%04x" % r[0])
    res = {"relayed": "%s:%d" % relay, "mapped": "%s:%d" % mapped, "sent": 0, "got": 0,
           "peers": [], "max_gap_s": 0.0, "errors": 0}
    peer_addr = None
    t_start = now()
    last = t_start
    next_send = t_start
    next_refresh = t_start + 30
    tmpf = relayfile + ".tmp"
    json.dump({"relayed": res["relayed"]}, open(tmpf, "w"))
    os.rename(tmpf, relayfile)
    while now() < t_start + seconds:
        n = now()
        if n >= next_refresh:
            t.send(msg(0x0004, [attr(0x000D, struct.pack("!I", 600))]))
            t.send(msg(0x0008, [attr(0x0012, xaddr(peer, 1))]))
            next_refresh = n + 30
        if peer_addr and n >= next_send:
            data = b"%s %d" % (name.encode(), res["sent"])
            t.send(msg(0x0016, [attr(0x0012, xaddr(*peer_addr)), attr(0x0013, data)]))
            res["sent"] += 1
            next_send = n + 0.02
        try:
            p = t.recv()
        except OSError:
            res["errors"] += 1
            break
        if p and p[0] == 0x0017 and 0x0013 in p[2]:
            pa = unx(p[2][0x0012])
            if peer_addr is None:
                peer_addr = pa
                next_send = now()
            if "%s:%d" % pa not in res["peers"]:
                res["peers"].append("%s:%d" % pa)
            res["got"] += 1
            g = now() - last
            if res["got"] > 1:
                res["max_gap_s"] = max(res["max_gap_s"], round(g, 3))
            last = now()
    json.dump(res, open(out, "w"))


def media(name, src, relayfile, seconds, out):
    for _ in range(600):
        if os.path.exists(relayfile):
            break
        time.sleep(0.05)
    ip, port = json.load(open(relayfile))["relayed"].split(":")
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind((src, 0))
    s.settimeout(0.005)
    res = {"to": "%s:%s" % (ip, port), "sent": 0, "got": 0, "from": [], "max_gap_s": 0.0}
    t_start = now()
    last = t_start
    next_send = t_start
    while now() < t_start + seconds:
        if now() >= next_send:
            s.sendto(b"%s %d" % (name.encode(), res["sent"]), (ip, int(port)))
            res["sent"] += 1
            next_send += 0.02
        try:
            d, a = s.recvfrom(2048)
        except socket.timeout:
            continue
        if "%s:%d" % a not in res["from"]:
            res["from"].append("%s:%d" % a)
        res["got"] += 1
        if res["got"] > 1:
            res["max_gap_s"] = max(res["max_gap_s"], round(now() - last, 3))
        last = now()
    json.dump(res, open(out, "w"))


def main(a):
    cmd = a[0]
    if cmd == "server":
        server(a[1], a[2], a[3], a[4:])
    elif cmd == "sip":
        sip_client(a[1], a[2], a[3], int(a[4]), a[5], float(a[6]), float(a[7]), a[8])
    elif cmd == "web":
        web_client(a[1], a[2], a[3], float(a[4]), float(a[5]), a[6], "--cookie" in a[7:])
    elif cmd == "turn":
        turn_client(a[1], a[2], a[3], int(a[4]), a[5], a[6], float(a[7]), a[8], a[9])
    elif cmd == "media":
        media(a[1], a[2], a[3], float(a[4]), a[5])
    else:
        raise SystemExit(__doc__)


if __name__ == "__main__":
    main(sys.argv[1:])
