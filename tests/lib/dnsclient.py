#!/usr/bin/python3
# kvfence test library: a DNS client for the proxy's tests (Debian's
# python3-dnslib), for what kdig cannot do: connect to every answered
# address the moment the answer arrives (the race a real client runs),
# check the reply's id, send malformed or multi-question messages, flood.
#
#   dnsclient.py query SERVER NAME TYPE [--tcp] [--connect PORT] [--timeout S]
#                                             [--source ADDR]
#       prints "rcode=R id_ok=0|1 tc=0|1 ms=N answers=ADDR,ADDR"; with
#       --connect, one "connect ADDR ok|blocked|error" line per address,
#       connected right after the reply was read (non-blocking connects
#       started together, so no address waits for another's verdict)
#   dnsclient.py raw SERVER HEX [--tcp]      one message, prints the reply
#       as "reply rcode=R qd=N id=N tc=0|1" or "noreply"
#   dnsclient.py pipeline SERVER NAME...     one TCP connection, every query
#       sent before any answer is read (RFC 7766); prints one
#       "answer NAME rcode=R" line per reply, matched by id
#   dnsclient.py flood SERVER COUNT          COUNT queries for random names
#       under flood.invalid, sent as fast as possible, no reply awaited
# SERVER is ADDR or ADDR:PORT (port 53 by default).
import random
import select
import socket
import struct
import sys
import time

from dnslib import DNSRecord, QTYPE, RCODE


def server(s):
    if s.count(":") == 1:
        a, p = s.split(":")
        return a, int(p)
    return s, 53


def exchange(srv, wire, tcp, timeout, source=None):
    fam = socket.AF_INET6 if ":" in srv[0] else socket.AF_INET
    if tcp:
        s = socket.create_connection(srv, timeout=timeout)
        s.sendall(struct.pack("!H", len(wire)) + wire)
        buf = b""
        while len(buf) < 2 or len(buf) < 2 + struct.unpack("!H", buf[:2])[0]:
            chunk = s.recv(65536)
            if not chunk:
                return None
            buf += chunk
        s.close()
        return buf[2:2 + struct.unpack("!H", buf[:2])[0]]
    s = socket.socket(fam, socket.SOCK_DGRAM)
    if source:
        s.bind((source, 0))
    s.settimeout(timeout)
    s.sendto(wire, srv)
    try:
        data, _ = s.recvfrom(65536)
    except socket.timeout:
        return None
    return data


def connect_all(addrs, port, timeout=2.0):
    socks = {}
    for a in addrs:
        fam = socket.AF_INET6 if ":" in a else socket.AF_INET
        s = socket.socket(fam, socket.SOCK_STREAM)
        s.setblocking(False)
        s.connect_ex((a, port))
        socks[s] = a
    result = {}
    deadline = time.monotonic() + timeout
    while socks and time.monotonic() < deadline:
        _, w, _ = select.select([], list(socks), [], deadline - time.monotonic())
        for s in w:
            err = s.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
            result[socks.pop(s)] = "ok" if err == 0 else (
                "blocked" if err == 111 else "error%d" % err)
            s.close()
    for s, a in socks.items():
        result[a] = "timeout"
        s.close()
    return result


def cmd_query(argv):
    srv, name, qtype = server(argv[0]), argv[1], argv[2]
    tcp = "--tcp" in argv
    port = int(argv[argv.index("--connect") + 1]) if "--connect" in argv else None
    timeout = float(argv[argv.index("--timeout") + 1]) if "--timeout" in argv else 3.0
    source = argv[argv.index("--source") + 1] if "--source" in argv else None
    q = DNSRecord.question(name, qtype)
    q.header.id = random.randint(0, 65535)
    t0 = time.monotonic()
    data = exchange(srv, q.pack(), tcp, timeout, source)
    ms = int((time.monotonic() - t0) * 1000)
    if data is None:
        print("noreply ms=%d" % ms)
        return 1
    r = DNSRecord.parse(data)
    addrs = [str(rr.rdata) for rr in r.rr if rr.rtype in (QTYPE.A, QTYPE.AAAA)]
    verdicts = connect_all(addrs, port) if port else {}
    print("rcode=%s id_ok=%d tc=%d ms=%d answers=%s" % (
        RCODE.get(r.header.rcode), int(r.header.id == q.header.id), r.header.tc, ms,
        ",".join(addrs)))
    for a in addrs:
        if port:
            print("connect %s %s" % (a, verdicts[a]))
    return 0


def cmd_raw(argv):
    srv, wire = server(argv[0]), bytes.fromhex(argv[1])
    data = exchange(srv, wire, "--tcp" in argv, 2.0)
    if data is None:
        print("noreply")
        return 0
    if len(data) < 12:
        print("reply short")
        return 0
    hid, flags, qd = struct.unpack("!HHH", data[:6])
    print("reply rcode=%s qd=%d id=%d tc=%d" % (
        RCODE.get(flags & 0xf), qd, hid, (flags >> 9) & 1))
    return 0


def cmd_pipeline(argv):
    srv, names = server(argv[0]), argv[1:]
    s = socket.create_connection(srv, timeout=3.0)
    ids = {}
    wire = b""
    for n in names:
        q = DNSRecord.question(n, "A")
        q.header.id = random.randint(0, 65535)
        ids[q.header.id] = n
        p = q.pack()
        wire += struct.pack("!H", len(p)) + p
    s.sendall(wire)
    buf = b""
    got = 0
    while got < len(names):
        while len(buf) < 2 or len(buf) < 2 + struct.unpack("!H", buf[:2])[0]:
            chunk = s.recv(65536)
            if not chunk:
                print("closed after %d answers" % got)
                return 1
            buf += chunk
        n = struct.unpack("!H", buf[:2])[0]
        r = DNSRecord.parse(buf[2:2 + n])
        buf = buf[2 + n:]
        print("answer %s rcode=%s" % (ids.get(r.header.id, "?id%d" % r.header.id),
                                      RCODE.get(r.header.rcode)))
        got += 1
    return 0


def cmd_flood(argv):
    srv, count = server(argv[0]), int(argv[1])
    fam = socket.AF_INET6 if ":" in srv[0] else socket.AF_INET
    s = socket.socket(fam, socket.SOCK_DGRAM)
    s.setblocking(False)
    sent = 0
    for i in range(count):
        q = DNSRecord.question("q%d-%d.flood.invalid" % (i, random.randint(0, 1 << 30)), "A")
        try:
            s.sendto(q.pack(), srv)
            sent += 1
        except BlockingIOError:
            select.select([], [s], [], 1.0)
    print("sent %d" % sent)
    return 0


def main():
    cmd, argv = sys.argv[1], sys.argv[2:]
    return {"query": cmd_query, "raw": cmd_raw, "flood": cmd_flood,
            "pipeline": cmd_pipeline}[cmd](argv)


if __name__ == "__main__":
    sys.exit(main())
