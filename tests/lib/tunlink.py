# kvfence test helper: a point-to-point link between two network
# namespaces made of two TUN devices and this process copying packets
# between them (kernels without veth, such as small VM kernels, still
# have TUN). The first device is created in the caller's namespace, the
# second in the namespace NETNS_PATH names (/run/netns/NAME). Prints
# "ready" once both exist; the link lives as long as this process.
# Usage: /usr/bin/python3 tunlink.py NETNS_PATH NAME_HERE NAME_THERE
import ctypes
import fcntl
import os
import selectors
import struct
import sys

TUNSETIFF = 0x400454CA
IFF_TUN = 0x0001
IFF_NO_PI = 0x1000
CLONE_NEWNET = 0x40000000


def tun_open(name):
    fd = os.open("/dev/net/tun", os.O_RDWR)
    fcntl.ioctl(fd, TUNSETIFF, struct.pack("16sH", name.encode(), IFF_TUN | IFF_NO_PI))
    return fd


def setns(path):
    libc = ctypes.CDLL(None, use_errno=True)
    nsfd = os.open(path, os.O_RDONLY)
    if libc.setns(nsfd, CLONE_NEWNET) != 0:
        err = ctypes.get_errno()
        raise OSError(err, "setns %s: %s" % (path, os.strerror(err)))
    os.close(nsfd)


def main(argv):
    if len(argv) != 3:
        raise SystemExit("usage: tunlink.py NETNS_PATH NAME_HERE NAME_THERE")
    here = tun_open(argv[1])
    setns(argv[0])
    there = tun_open(argv[2])
    peer = {here: there, there: here}
    sel = selectors.DefaultSelector()
    sel.register(here, selectors.EVENT_READ)
    sel.register(there, selectors.EVENT_READ)
    print("ready", flush=True)
    while True:
        for key, _ in sel.select():
            try:
                pkt = os.read(key.fd, 65536)
                os.write(peer[key.fd], pkt)
            except OSError:
                # A device that is down drops the packet, as a wire would.
                pass


main(sys.argv[1:])
