# kvfence test helper: try one TCP connection and say what happened:
#   open     connected and read the test server's greeting
#   reset    refused at once (a TCP reset, or an ICMP error)
#   timeout  nothing came back within the deadline (a drop)
# Exit status 0 for open, 1 for reset, 2 for timeout, 3 for anything else.
# Usage: /usr/bin/python3 tcpprobe.py ADDR PORT [TIMEOUT_SECONDS]
import socket
import sys


def main(argv):
    addr, port = argv[0], int(argv[1])
    deadline = float(argv[2]) if len(argv) > 2 else 2.0
    fam = socket.AF_INET6 if ":" in addr else socket.AF_INET
    s = socket.socket(fam, socket.SOCK_STREAM)
    s.settimeout(deadline)
    try:
        s.connect((addr, port))
        s.recv(64)
    except ConnectionRefusedError:
        print("reset")
        return 1
    except (socket.timeout, TimeoutError):
        print("timeout")
        return 2
    except OSError as e:
        print("error %s" % e)
        return 3
    finally:
        s.close()
    print("open")
    return 0


sys.exit(main(sys.argv[1:]))
