#!/usr/bin/env python3
"""browser.py: the status page in a real browser (Debian's headless Chromium), driven over
the DevTools protocol with the standard library only (a minimal WebSocket client).

  browser.py --url https://127.0.0.1:9100/ --user admin --password PW \
             [--drain VS/RS] [--services A,B] [--live VS] [--screenshot OUT.png]

Opens the page, waits for its tables and graphs, and with --drain clicks that server's
drain button: the page's POST asks for the login (HTTP basic), which is answered as a
person would answer the browser's dialog (Fetch.authRequired), and the page must then
say "Done" and show the server as drain. --services: those services must each have
their three graphs (a drawn canvas, or the page's note that a service has no requests);
--live: that service's graphs must take a new sample by themselves (one every 10 s).
Prints one line per step; exit 0 when every step passed, 1 otherwise. Chromium is started
in its own process group and that group is ended on the way out, whatever happens.
"""
import argparse
import base64
import json
import os
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import time
import urllib.request


class WebSocket:
    """A client WebSocket (RFC 6455): text frames out (masked), frames in."""

    def __init__(self, host, port, path, timeout):
        self.s = socket.create_connection((host, port), timeout=timeout)
        key = base64.b64encode(os.urandom(16)).decode()
        self.s.sendall(("GET %s HTTP/1.1\r\nHost: %s:%d\r\nUpgrade: websocket\r\n"
                        "Connection: Upgrade\r\nSec-WebSocket-Key: %s\r\n"
                        "Sec-WebSocket-Version: 13\r\n\r\n" % (path, host, port, key)).encode())
        head = b""
        while b"\r\n\r\n" not in head:
            chunk = self.s.recv(4096)
            if not chunk:
                raise IOError("websocket: closed during the handshake")
            head += chunk
        head, self.buf = head.split(b"\r\n\r\n", 1)
        if b" 101 " not in head.split(b"\r\n", 1)[0]:
            raise IOError("websocket: %r" % head[:200])

    def send(self, text):
        data = text.encode()
        n = len(data)
        hdr = bytes([0x81])
        if n < 126:
            hdr += bytes([0x80 | n])
        elif n < 65536:
            hdr += bytes([0x80 | 126]) + struct.pack(">H", n)
        else:
            hdr += bytes([0x80 | 127]) + struct.pack(">Q", n)
        mask = os.urandom(4)
        self.s.sendall(hdr + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(data)))

    def _read(self, n):
        while len(self.buf) < n:
            chunk = self.s.recv(1 << 20)
            if not chunk:
                raise IOError("websocket: closed")
            self.buf += chunk
        out, self.buf = self.buf[:n], self.buf[n:]
        return out

    def recv(self):
        """The next whole text message (continuations joined; pings answered)."""
        msg = b""
        while True:
            b0, b1 = self._read(2)
            n = b1 & 0x7F
            if n == 126:
                n = struct.unpack(">H", self._read(2))[0]
            elif n == 127:
                n = struct.unpack(">Q", self._read(8))[0]
            payload = self._read(n)
            op = b0 & 0x0F
            if op == 0x9:       # ping: pong (masked, as a client must)
                mask = os.urandom(4)
                self.s.sendall(bytes([0x8A, 0x80 | n]) + mask +
                               bytes(b ^ mask[i % 4] for i, b in enumerate(payload)))
                continue
            if op == 0x8:
                raise IOError("websocket: closed by the browser")
            msg += payload
            if b0 & 0x80:
                return msg.decode()


class Page:
    """One DevTools session: commands by id, events handled as they come."""

    def __init__(self, ws, user, password):
        self.ws, self.user, self.password = ws, user, password
        self.next_id = 0
        self.logins = 0

    def _event(self, m):
        method, p = m.get("method"), m.get("params", {})
        if method == "Fetch.requestPaused":
            self.ws.send(json.dumps({"id": self._id(), "method": "Fetch.continueRequest",
                                     "params": {"requestId": p["requestId"]}}))
        elif method == "Fetch.authRequired":
            # The browser's login dialog, answered.
            self.logins += 1
            self.ws.send(json.dumps({"id": self._id(), "method": "Fetch.continueWithAuth",
                                     "params": {"requestId": p["requestId"],
                                                "authChallengeResponse": {
                                                    "response": "ProvideCredentials",
                                                    "username": self.user,
                                                    "password": self.password}}}))

    def _id(self):
        self.next_id += 1
        return self.next_id

    def call(self, method, **params):
        i = self._id()
        self.ws.send(json.dumps({"id": i, "method": method, "params": params}))
        while True:
            m = json.loads(self.ws.recv())
            if m.get("id") == i:
                if "error" in m:
                    raise RuntimeError("%s: %s" % (method, m["error"]))
                return m.get("result", {})
            if "method" in m:
                self._event(m)

    def js(self, expr):
        r = self.call("Runtime.evaluate", expression=expr, returnByValue=True,
                      awaitPromise=True)
        if "exceptionDetails" in r:
            raise RuntimeError("js: %s" % r["exceptionDetails"].get("text"))
        return r["result"].get("value")

    def wait(self, expr, timeout_s, what):
        """Polls expr (JS) until it is truthy; its last value either way."""
        end = time.monotonic() + timeout_s
        v = None
        while time.monotonic() < end:
            v = self.js(expr)
            if v:
                return v
            time.sleep(0.2)
        raise TimeoutError("%s: not within %.0f s (last: %r)" % (what, timeout_s, v))


def start_chromium(profile, log):
    exe = shutil.which("chromium") or shutil.which("chromium-browser")
    if exe is None:
        raise FileNotFoundError("chromium is not installed (tools/setup installs it)")
    return subprocess.Popen(
        [exe, "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
         "--remote-debugging-address=127.0.0.1", "--remote-debugging-port=0",
         "--user-data-dir=" + profile, "--ignore-certificate-errors", "--no-first-run",
         "--no-default-browser-check", "--disable-extensions",
         "--disable-background-networking", "--disable-component-update",
         "--disable-sync", "--metrics-recording-only", "--password-store=basic",
         "--window-size=1400,1250", "--hide-scrollbars", "about:blank"],
        stdout=log, stderr=log, stdin=subprocess.DEVNULL, start_new_session=True,
        env=dict(os.environ, HOME=profile))


def devtools_port(profile, proc, timeout_s):
    path = os.path.join(profile, "DevToolsActivePort")
    end = time.monotonic() + timeout_s
    while time.monotonic() < end:
        if proc.poll() is not None:
            raise RuntimeError("chromium exited with %s" % proc.returncode)
        try:
            with open(path) as f:
                lines = f.read().split()
            if len(lines) >= 2:
                return int(lines[0])
        except FileNotFoundError:
            pass
        time.sleep(0.1)
    raise TimeoutError("chromium gave no DevTools port within %.0f s" % timeout_s)


# The row of VS/RS in the servers table, and its drain button.
ROW_JS = """(() => {
  for (const tr of document.querySelectorAll("#servers tbody tr")) {
    const td = tr.querySelectorAll("td");
    if (td.length > 4 && td[0].textContent === %s && td[1].textContent === %s) return tr;
  }
  return null; })()"""


def run(a):
    profile = tempfile.mkdtemp(prefix="lbd-browser-")
    log = open(os.path.join(profile, "chromium.log"), "w")
    proc = None
    ok = True

    def step(desc, fn):
        nonlocal ok
        try:
            v = fn()
            print("ok - %s%s" % (desc, "" if v in (None, True) else ": %s" % (v,)))
            return v
        except Exception as e:     # one failed step fails the run; the others go on
            ok = False
            print("not ok - %s: %s" % (desc, e))
            return None

    try:
        proc = start_chromium(profile, log)
        print("chromium pid %d" % proc.pid)
        port = devtools_port(profile, proc, 20)
        targets = json.load(urllib.request.urlopen("http://127.0.0.1:%d/json/list" % port,
                                                   timeout=5))
        page_t = next(t for t in targets if t.get("type") == "page")
        ws_path = "/" + page_t["webSocketDebuggerUrl"].split("/", 3)[3]
        page = Page(WebSocket("127.0.0.1", port, ws_path, a.timeout), a.user, a.password)
        page.call("Fetch.enable", handleAuthRequests=True,
                  patterns=[{"urlPattern": "*/api/rs*", "requestStage": "Request"}])
        page.call("Page.enable")
        page.call("Runtime.enable")
        page.call("Page.navigate", url=a.url)

        step("the status page loads and draws its tables", lambda: page.wait(
            "document.querySelectorAll('#services tbody tr').length > 0 && "
            "document.querySelectorAll('#servers tbody tr').length > 0 && "
            "document.getElementById('error').hidden && document.getElementById('name').textContent",
            15, "tables"))
        for svc in [s for s in a.services.split(",") if s]:
            step("service %s has its three graphs" % svc, lambda svc=svc: page.wait(
                """(() => { const b = document.querySelector('.hist-vs[data-service="%s"]');
                   if (!b) return false;
                   const charts = b.querySelectorAll('[data-chart]');
                   let drawn = 0;
                   for (const c of charts)
                     if (c.querySelector('canvas') || /No requests/.test(c.textContent)) drawn++;
                   return charts.length === 3 && drawn === 3 &&
                          b.querySelectorAll('canvas').length > 0 &&
                          Array.from(charts).map(c => c.dataset.chart + ':' +
                            (c.querySelector('canvas') ? 'graph' : c.textContent)).join(', ');
                })()""" % svc, 15, "graphs of " + svc))
        if a.live:
            # The graphs refresh by themselves: the next sample (every 10 s) appears.
            q = "(document.querySelector('.hist-vs[data-service=\"%s\"]') || {dataset: {}})" \
                ".dataset.samples" % a.live
            first = int(page.js(q) or 0)
            step("%s's graphs take the next sample by themselves (%d now)" % (a.live, first),
                 lambda: page.wait("Number(%s) > %d && Number(%s)" % (q, first, q), 25,
                                   "a new sample"))
        if a.drain:
            vs, rs = a.drain.split("/", 1)
            row = ROW_JS % (json.dumps(vs), json.dumps(rs))
            step("%s has a drain button" % a.drain, lambda: page.wait(
                "(() => { const tr = %s; if (!tr) return false;"
                " const b = Array.from(tr.querySelectorAll('button'))"
                ".find(b => b.textContent === 'drain'); return !!b && !b.disabled; })()" % row,
                10, "drain button"))
            step("clicking it", lambda: page.js(
                "(() => { const tr = %s; Array.from(tr.querySelectorAll('button'))"
                ".find(b => b.textContent === 'drain').click(); return true; })()" % row))
            step("the page says it is done", lambda: page.wait(
                "(() => { const t = document.getElementById('action').textContent;"
                " if (/^(Refused|Failed)/.test(t)) throw new Error(t);"
                " return /^Done: /.test(t) && t; })()", 10, "done"))
            step("the login was asked for and given", lambda: page.logins >= 1 or
                 (_ for _ in ()).throw(RuntimeError("no login was asked for")))
            step("the page shows %s as drain" % a.drain, lambda: page.wait(
                "(() => { const tr = %s; return !!tr && tr.querySelectorAll('td')[4]"
                ".textContent === 'drain'; })()" % row, 10, "state drain on the page"))
        if a.screenshot:
            def shot():
                page.js("window.scrollTo(0, 0)")
                time.sleep(0.3)
                png = base64.b64decode(page.call("Page.captureScreenshot", format="png")["data"])
                with open(a.screenshot, "wb") as f:
                    f.write(png)
                return "%s, %d bytes" % (a.screenshot, len(png))
            step("a screenshot", shot)
    except Exception as e:
        ok = False
        print("not ok - the browser session: %s" % e)
    finally:
        if proc is not None:
            try:
                os.killpg(proc.pid, signal.SIGTERM)
                proc.wait(5)
            except (ProcessLookupError, subprocess.TimeoutExpired):
                try:
                    os.killpg(proc.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
                proc.wait(5)
            # Its helpers (renderer, GPU, zygote) share the group: none is left behind.
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            end = time.monotonic() + 3
            while True:
                try:
                    os.killpg(proc.pid, 0)
                except ProcessLookupError:
                    print("ok - chromium (pid %d) and its helpers have exited" % proc.pid)
                    break
                if time.monotonic() > end:
                    ok = False
                    print("not ok - chromium's process group %d is still there" % proc.pid)
                    break
                time.sleep(0.1)
        log.close()
        if not ok:
            with open(os.path.join(profile, "chromium.log")) as f:
                for line in f.readlines()[-15:]:
                    print("    chromium: " + line.rstrip())
        shutil.rmtree(profile, ignore_errors=True)
    return ok


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--url", required=True)
    ap.add_argument("--user", default="")
    ap.add_argument("--password", default="")
    ap.add_argument("--drain", default="")
    ap.add_argument("--services", default="")
    ap.add_argument("--screenshot", default="")
    ap.add_argument("--live", default="", help="a service whose graphs must refresh")
    ap.add_argument("--timeout", type=float, default=10)
    a = ap.parse_args()
    # A timeout's SIGTERM still ends the browser (finally, above).
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))
    sys.exit(0 if run(a) else 1)


if __name__ == "__main__":
    main()
