#!/usr/bin/python3
# kvfence test library: a scriptable fault-injection DNS server (Debian's
# python3-dnslib), UDP and TCP on one address, run inside a test's network
# namespace. What it answers for each name comes from a rules file that it
# re-reads whenever the file changes (checked on every query) or on SIGHUP.
#
# Rules file, one rule a line, "#" comments:
#
#   serial N                      reported by the built-in name below
#   NAME [A|AAAA] ACTION [KEY=VALUE ...]
#
# NAME is a domain name (case-insensitive, trailing dot optional) or "*"
# for every name without a rule. With a type, the rule applies to that
# query type only; a rule with a type wins over one without.
#
# ACTION:
#   answer     records: a=ADDR,ADDR aaaa=ADDR,... ttl=N (default 60)
#              a-gen=FIRST/COUNT[,FIRST/COUNT] aaaa-gen=... (COUNT
#              consecutive addresses from FIRST); cname=TARGET (the CNAME, then the
#              target's own rule followed as an authoritative server does,
#              loops stopped at the first repeated name, at most 100 hops);
#              tc=1: over UDP only a truncated reply (TC bit), the whole
#              answer over TCP. Any UDP reply over 512 bytes (or the
#              query's EDNS size) is truncated the same way.
#   nodata     NOERROR with no answer (use with a type: NODATA for AAAA)
#   nxdomain   NXDOMAIN          servfail   SERVFAIL     refused   REFUSED
#   timeout    no reply at all (UDP and TCP)
#   Any action takes delay=MS: its replies leave MS milliseconds after the
#   query came (a slow or distant server); other queries are not held up.
#   wrongname  a reply whose question and answer name spoof=NAME (default
#              spoofed.invalid.) with address spoof-a=ADDR (A queries) or
#              spoof-aaaa=ADDR (AAAA), then (follow=1) the genuine answer
#              built from the answer keys
#   wrongid    a reply with the right question, a wrong id and address
#              spoof-a / spoof-aaaa, then (follow=1) the genuine answer
#   malformed  bytes that are no DNS message: kind=garbage|short|badcount|
#              badptr (default garbage), then (follow=1) the genuine answer
#
# Every query is logged to --log as "EPOCH_MS PROTO QNAME QTYPE ACTION".
# The built-in name ping.fakedns. (TXT) answers "serial N" of the rules
# loaded: readiness and reload checks poll it.
import argparse
import ipaddress
import os
import random
import signal
import socket
import struct
import sys
import threading
import time

from dnslib import AAAA, A, CNAME, DNSRecord, QTYPE, RCODE, RR, TXT

PING = "ping.fakedns."
UDP_LIMIT = 512


def norm(name):
    name = str(name).lower()
    return name if name.endswith(".") else name + "."


class Rules:
    def __init__(self, path):
        self.path = path
        self.sig = None
        self.serial = "0"
        self.rules = {}
        self.lock = threading.Lock()

    def _stat(self):
        try:
            st = os.stat(self.path)
        except OSError:
            return None
        return (st.st_ino, st.st_mtime_ns, st.st_size)

    def refresh(self, force=False):
        with self.lock:
            sig = self._stat()
            if not force and sig == self.sig:
                return
            self.sig = sig
            rules, serial = {}, "0"
            try:
                with open(self.path) as f:
                    lines = f.read().splitlines()
            except OSError:
                lines = []
            for n, line in enumerate(lines, 1):
                line = line.split("#", 1)[0].split()
                if not line:
                    continue
                if line[0] == "serial":
                    serial = line[1]
                    continue
                try:
                    key, rule = parse_rule(line)
                except (ValueError, IndexError) as e:
                    log_err("%s:%d: %s" % (self.path, n, e))
                    continue
                rules[key] = rule
            self.rules, self.serial = rules, serial

    def lookup(self, name, qtype):
        name = norm(name)
        r = self.rules
        for key in ((name, qtype), (name, None), ("*", qtype), ("*", None)):
            if key in r:
                return r[key]
        return {"action": "nxdomain"}

    def exact(self, name, qtype):
        """The rule of name itself (no "*"), for following CNAMEs."""
        name = norm(name)
        return self.rules.get((name, qtype)) or self.rules.get((name, None))


ACTIONS = {"answer", "nodata", "nxdomain", "servfail", "refused", "timeout",
           "wrongname", "wrongid", "malformed"}


def parse_rule(words):
    name = words[0] if words[0] == "*" else norm(words[0])
    i, qtype = 1, None
    if words[1].upper() in ("A", "AAAA"):
        qtype = words[1].upper()
        i = 2
    action = words[i]
    if action not in ACTIONS:
        raise ValueError("unknown action %r" % action)
    rule = {"action": action}
    for kv in words[i + 1:]:
        k, v = kv.split("=", 1)
        rule[k] = v
    return (name, qtype), rule


def gen(specs):
    out = []
    for spec in specs.split(","):
        first, count = spec.split("/")
        a = ipaddress.ip_address(first)
        out += [str(a + i) for i in range(int(count))]
    return out


def addrs(rule, qtype):
    key = qtype.lower()
    out = [x for x in rule.get(key, "").split(",") if x]
    if rule.get(key + "-gen"):
        out += gen(rule[key + "-gen"])
    return out


def aaaa(addr):
    """dnslib's own parser knows no dotted tail (::ffff:192.0.2.1)."""
    return AAAA(tuple(ipaddress.IPv6Address(addr).packed))


def log_err(msg):
    sys.stderr.write("fakedns: %s\n" % msg)
    sys.stderr.flush()


class Server:
    def __init__(self, args):
        self.rules = Rules(args.rules)
        self.rules.refresh(force=True)
        self.logf = open(args.log, "a", buffering=1) if args.log else None
        self.loglock = threading.Lock()

    def log(self, proto, qname, qtype, action):
        if not self.logf:
            return
        with self.loglock:
            self.logf.write("%d %s %s %s %s\n" % (time.time() * 1000, proto,
                                                  norm(qname), qtype, action))

    # -- building replies -------------------------------------------------

    def records(self, reply, name, qtype, rule):
        """Add the answer of rule for name to reply; follow CNAMEs."""
        seen = set()
        hops = 0
        while True:
            seen.add(norm(name))
            ttl = int(rule.get("ttl", 60))
            if rule.get("action") != "answer":
                return
            target = rule.get("cname")
            if target:
                reply.add_answer(RR(name, QTYPE.CNAME, ttl=ttl, rdata=CNAME(target)))
                hops += 1
                nxt = self.rules.exact(target, qtype)
                if norm(target) in seen or hops > 100 or nxt is None:
                    return
                name, rule = target, nxt
                continue
            for a in addrs(rule, qtype):
                rd = A(a) if qtype == "A" else aaaa(a)
                reply.add_answer(RR(name, getattr(QTYPE, qtype), ttl=ttl, rdata=rd))
            return

    def genuine(self, q, rule):
        reply = q.reply()
        qname = q.q.qname
        qtype = QTYPE[q.q.qtype]
        action = rule["action"]
        if action in ("nxdomain",):
            reply.header.rcode = RCODE.NXDOMAIN
        elif action == "servfail":
            reply.header.rcode = RCODE.SERVFAIL
        elif action == "refused":
            reply.header.rcode = RCODE.REFUSED
        elif action == "nodata" or qtype not in ("A", "AAAA"):
            pass
        else:
            self.records(reply, qname, qtype, dict(rule, action="answer"))
        return reply

    def spoof(self, q, rule):
        """The bogus reply of wrongname/wrongid/malformed, as bytes."""
        action = rule["action"]
        qtype = QTYPE[q.q.qtype]
        if qtype == "AAAA":
            rd = aaaa(rule.get("spoof-aaaa", "2001:db8:bad::66"))
        else:
            rd = A(rule.get("spoof-a", "203.0.113.66"))
        if action == "wrongname":
            other = rule.get("spoof", "spoofed.invalid.")
            r = DNSRecord.question(other, qtype)
            r = r.reply()
            r.header.id = q.header.id
            r.add_answer(RR(other, getattr(QTYPE, qtype), ttl=60, rdata=rd))
            return r.pack()
        if action == "wrongid":
            r = q.reply()
            r.header.id = q.header.id ^ 0x5a5a
            r.add_answer(RR(q.q.qname, getattr(QTYPE, qtype), ttl=60, rdata=rd))
            return r.pack()
        kind = rule.get("kind", "garbage")
        hdr_id = struct.pack("!H", q.header.id)
        if kind == "short":
            return hdr_id + b"\x81\x80\x00"
        if kind == "badcount":
            # A reply header claiming 5 answers that are not there.
            r = q.reply()
            b = bytearray(r.pack())
            b[6:8] = struct.pack("!H", 5)
            return bytes(b)
        if kind == "badptr":
            # An answer whose name is a compression pointer to itself.
            r = q.reply()
            b = bytearray(r.pack())
            b[6:8] = struct.pack("!H", 1)
            off = len(b)
            b += struct.pack("!H", 0xC000 | off)
            b += struct.pack("!HHIH", q.q.qtype, 1, 60, 4) + bytes(4)
            return bytes(b)
        rnd = random.Random(1234)
        return hdr_id + bytes(rnd.getrandbits(8) for _ in range(40))

    def handle(self, data, proto):
        """A list of replies (bytes) for one query packet; a bad rule is
        logged and answered with nothing rather than kill the server."""
        try:
            return self.handle1(data, proto)
        except Exception as e:  # noqa: BLE001
            log_err("query failed: %r" % e)
            return []

    def handle1(self, data, proto):
        try:
            q = DNSRecord.parse(data)
        except Exception as e:  # noqa: BLE001 (any parse failure: drop)
            log_err("unparsable query: %s" % e)
            return []
        self.rules.refresh()
        qname = str(q.q.qname)
        qtype = QTYPE.get(q.q.qtype, str(q.q.qtype))
        if norm(qname) == PING:
            r = q.reply()
            r.add_answer(RR(PING, QTYPE.TXT, ttl=0, rdata=TXT("serial " + self.rules.serial)))
            return [r.pack()]
        rule = self.rules.lookup(qname, qtype)
        action = rule["action"]
        self.log(proto, qname, qtype, action)
        if action == "timeout":
            return []
        out = []
        if action in ("wrongname", "wrongid", "malformed"):
            out.append(self.spoof(q, rule))
            if rule.get("follow") != "1":
                return out
        reply = self.genuine(q, rule).pack()
        if proto == "udp":
            limit = UDP_LIMIT
            for rr in q.ar:
                if rr.rtype == QTYPE.OPT:
                    limit = max(UDP_LIMIT, rr.rclass)
            if rule.get("tc") == "1" or len(reply) > limit:
                t = self.genuine(q, {"action": "nodata"})
                t.header.tc = 1
                reply = t.pack()
        out.append(reply)
        return out

    # -- transports -------------------------------------------------------

    def delay_of(self, data):
        """The delay=MS of the rule a query falls under, in seconds."""
        try:
            q = DNSRecord.parse(data)
            rule = self.rules.lookup(str(q.q.qname), QTYPE.get(q.q.qtype, str(q.q.qtype)))
            return int(rule.get("delay", 0)) / 1000.0
        except Exception:  # noqa: BLE001 (handle() reports bad queries)
            return 0.0

    def serve_udp(self, sock):
        while True:
            data, peer = sock.recvfrom(65535)
            replies = self.handle(data, "udp")
            delay = self.delay_of(data) if replies else 0.0
            if delay > 0:
                threading.Timer(delay, send_all, args=(sock, replies, peer)).start()
            else:
                send_all(sock, replies, peer)

    def serve_tcp_conn(self, conn):
        with conn:
            while True:
                hdr = recv_exact(conn, 2)
                if not hdr:
                    return
                data = recv_exact(conn, struct.unpack("!H", hdr)[0])
                if data is None:
                    return
                replies = self.handle(data, "tcp")
                delay = self.delay_of(data) if replies else 0.0
                if delay > 0:
                    time.sleep(delay)
                for r in replies:
                    conn.sendall(struct.pack("!H", len(r)) + r)

    def serve_tcp(self, sock):
        while True:
            conn, _ = sock.accept()
            threading.Thread(target=self.serve_tcp_conn, args=(conn,), daemon=True).start()


def send_all(sock, replies, peer):
    for r in replies:
        sock.sendto(r, peer)


def recv_exact(conn, n):
    buf = b""
    while len(buf) < n:
        try:
            chunk = conn.recv(n - len(buf))
        except OSError:
            return None
        if not chunk:
            return None
        buf += chunk
    return buf


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--rules", required=True)
    p.add_argument("--addr", default="127.0.0.1")
    p.add_argument("--port", type=int, default=53)
    p.add_argument("--log")
    args = p.parse_args()
    srv = Server(args)
    signal.signal(signal.SIGHUP, lambda *_: srv.rules.refresh(force=True))
    fam = socket.AF_INET6 if ":" in args.addr else socket.AF_INET
    udp = socket.socket(fam, socket.SOCK_DGRAM)
    udp.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 * 1024 * 1024)
    udp.bind((args.addr, args.port))
    tcp = socket.socket(fam, socket.SOCK_STREAM)
    tcp.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    tcp.bind((args.addr, args.port))
    tcp.listen(64)
    threading.Thread(target=srv.serve_tcp, args=(tcp,), daemon=True).start()
    try:
        srv.serve_udp(udp)
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    signal.signal(signal.SIGTERM, lambda *_: os._exit(0))
    main()
