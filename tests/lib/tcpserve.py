# kvfence test helper: accept TCP connections on every ADDR PORT pair given
# (IPv4 or IPv6), answer each with one line and close it. Prints "ready"
# once every socket listens, so a test can wait for it. Runs until killed.
# Usage: /usr/bin/python3 tcpserve.py ADDR PORT [ADDR PORT ...]
import selectors
import socket
import sys


def main(argv):
    if len(argv) < 2 or len(argv) % 2:
        raise SystemExit("usage: tcpserve.py ADDR PORT [ADDR PORT ...]")
    sel = selectors.DefaultSelector()
    for addr, port in zip(argv[0::2], argv[1::2]):
        fam = socket.AF_INET6 if ":" in addr else socket.AF_INET
        s = socket.socket(fam, socket.SOCK_STREAM)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind((addr, int(port)))
        s.listen(64)
        sel.register(s, selectors.EVENT_READ)
    print("ready", flush=True)
    while True:
        for key, _ in sel.select():
            try:
                conn, _ = key.fileobj.accept()
            except OSError:
                continue
            try:
                conn.sendall(b"kvfence-test\n")
            except OSError:
                pass
            conn.close()


main(sys.argv[1:])
