#!/usr/bin/python3
# The client of the race benchmark (tests/bench/race.sh): asks a resolver
# for one name every INTERVAL ms, as an application would, and at once
# opens a TCP connection to every IPv4 address of each answer, behind the
# firewall kvfence keeps. A connection reset (the printed rules' reject
# line) is a blocked address: a second thread retries it every
# millisecond until it is let through (or GIVE_UP_S passed: "never")
# and records how long that took; the query loop goes on meanwhile.
#
#   race-client.py RESOLVER NAME SECONDS [INTERVAL_MS]
#
# Prints one JSON object: answers, answers with a blocked address, the
# distinct addresses seen, the waits (ms) until a blocked address was
# allowed, and how many never were. Debian's python3 with python3-dnslib.
import errno
import json
import socket
import sys
import threading
import time

import dnslib

PORT = 443
RETRY_S = 0.001
GIVE_UP_S = 20.0


def ask(sock, resolver, name, qid):
    q = dnslib.DNSRecord.question(name)
    q.header.id = qid
    sock.sendto(q.pack(), (resolver, 53))
    deadline = time.monotonic() + 2.0
    while True:
        sock.settimeout(max(deadline - time.monotonic(), 0.001))
        try:
            data = sock.recv(65535)
        except socket.timeout:
            return None
        r = dnslib.DNSRecord.parse(data)
        if r.header.id == qid:
            return [str(rr.rdata) for rr in r.rr if rr.rtype == dnslib.QTYPE.A]


def connect(addr):
    """True: accepted; False: reset by the firewall (blocked)."""
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.settimeout(2.0)
    try:
        s.connect((addr, PORT))
        return True
    except ConnectionRefusedError:
        return False
    except OSError as e:
        if e.errno in (errno.ECONNREFUSED, errno.ECONNRESET):
            return False
        raise
    finally:
        s.close()


class Waiter(threading.Thread):
    """Retries each blocked address every millisecond, beside the query
    loop (which never waits for it), and records how long it took."""

    def __init__(self):
        super().__init__(daemon=True)
        self.lock = threading.Lock()
        self.pending = {}
        self.waits = []
        self.never = 0

    def add(self, addr, since):
        with self.lock:
            self.pending.setdefault(addr, since)

    def run(self):
        while True:
            with self.lock:
                todo = list(self.pending.items())
            for addr, since in todo:
                now = time.monotonic()
                if connect(addr):
                    done = (time.monotonic() + now) / 2
                    with self.lock:
                        del self.pending[addr]
                        self.waits.append(round((done - since) * 1000, 2))
                elif now - since > GIVE_UP_S:
                    with self.lock:
                        del self.pending[addr]
                        self.never += 1
            time.sleep(RETRY_S)


def main():
    resolver, name, seconds = sys.argv[1], sys.argv[2], float(sys.argv[3])
    interval = (float(sys.argv[4]) if len(sys.argv) > 4 else 20.0) / 1000
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    answers = blocked_answers = lost = 0
    seen = set()
    qid = 0
    waiter = Waiter()
    waiter.start()
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        t0 = time.monotonic()
        qid = (qid + 1) & 0xFFFF
        addrs = ask(sock, resolver, name, qid)
        if addrs is None:
            lost += 1
            continue
        answers += 1
        blocked = False
        for a in addrs:
            seen.add(a)
            t = time.monotonic()
            if not connect(a):
                blocked = True
                waiter.add(a, t)
        if blocked:
            blocked_answers += 1
        left = interval - (time.monotonic() - t0)
        if left > 0:
            time.sleep(left)
    # Let the addresses blocked last be allowed or given up.
    deadline = time.monotonic() + GIVE_UP_S + 1
    while time.monotonic() < deadline:
        with waiter.lock:
            if not waiter.pending:
                break
        time.sleep(0.01)
    with waiter.lock:
        print(json.dumps({"answers": answers, "blocked_answers": blocked_answers,
                          "unanswered": lost, "addresses_seen": len(seen),
                          "never_allowed": waiter.never + len(waiter.pending),
                          "waits_ms": waiter.waits}))


if __name__ == "__main__":
    main()
