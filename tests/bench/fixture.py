#!/usr/bin/python3
"""kvfence benchmark fixture: host names, the root zone that answers them,
and the expected sets. Called by tests/bench/run.sh.

Host i (0 <= i < N):
    kvNNNNN.vault.azure.net  CNAME  dataNNNNN.vaultcore.azure.net
    dataNNNNN.vaultcore.azure.net  CNAME  tmNNNNN.kv.trafficmanager.net
    tmNNNNN.kv.trafficmanager.net  A, A, AAAA          (every TTL 300)

Addresses come from the documentation ranges only. IPv6 is unique per
host (2001:db8:a::/48 in variant 0, 2001:db8:b::/48 for changed hosts in
variant 1). IPv4 has 3 x 254 documentation addresses for 2N answers:
host i takes pool[2i mod 762] and pool[2i+1 mod 762], so from N = 381 on
every IPv4 address is shared by several hosts. kvfence keeps one element
per key (address . port) with the comment of one host that wants it, so
the IPv4 set holds min(2N, 762) elements and the IPv6 set N.

Variant 1 ("churn") changes the answers of every tenth host (i % 10 == 0):
its two A records move half the pool away (+381) and its AAAA moves to
2001:db8:b::/48.
"""
import json
import sys

TTL = 300
POOL = ([f"192.0.2.{k}" for k in range(1, 255)] +
        [f"198.51.100.{k}" for k in range(1, 255)] +
        [f"203.0.113.{k}" for k in range(1, 255)])


def name(i):
    return f"kv{i:05d}.vault.azure.net"


def changed(i, variant):
    return variant == 1 and i % 10 == 0


def answers(i, variant):
    """The (v4 list, v6 list) host i resolves to."""
    shift = 381 if changed(i, variant) else 0
    v4 = [POOL[(2 * i + shift) % len(POOL)], POOL[(2 * i + 1 + shift) % len(POOL)]]
    v6 = [f"2001:db8:{'b' if changed(i, variant) else 'a'}::{i + 1:x}"]
    return v4, v6


def cmd_names(n):
    for i in range(n):
        print(name(i))


def cmd_zone(n, variant, serial):
    out = [
        "$ORIGIN .",
        f"$TTL {TTL}",
        f".\t3600 IN SOA ns.kvfence-test. hostmaster.kvfence-test. {serial} 3600 600 86400 5",
        ".\t3600 IN NS ns.kvfence-test.",
        "ns.kvfence-test.\t3600 IN A 127.0.0.1",
    ]
    for i in range(n):
        h, d, t = name(i), f"data{i:05d}.vaultcore.azure.net", f"tm{i:05d}.kv.trafficmanager.net"
        out.append(f"{h}.\t{TTL}\tIN\tCNAME\t{d}.")
        out.append(f"{d}.\t{TTL}\tIN\tCNAME\t{t}.")
        v4, v6 = answers(i, variant)
        out += [f"{t}.\t{TTL}\tIN\tA\t{a}" for a in v4]
        out += [f"{t}.\t{TTL}\tIN\tAAAA\t{a}" for a in v6]
    print("\n".join(out))


def wanted(n, variant):
    """{(family, addr): set of host names} for the variant."""
    w = {}
    for i in range(n):
        v4, v6 = answers(i, variant)
        for a in v4:
            w.setdefault(("4", a), set()).add(name(i))
        for a in v6:
            w.setdefault(("6", a), set()).add(name(i))
    return w


def cmd_counts(n, variant):
    w = wanted(n, variant)
    print(sum(1 for k in w if k[0] == "4"), sum(1 for k in w if k[0] == "6"))


def kernel_elems(path4, path6):
    """{(family, addr): comment} from `nft -j list set` outputs (port 443 only)."""
    got = {}
    for fam, path in (("4", path4), ("6", path6)):
        with open(path) as f:
            doc = json.load(f)
        for obj in doc["nftables"]:
            s = obj.get("set")
            if not s:
                continue
            for e in s.get("elem", []):
                comment = None
                if isinstance(e, dict) and "elem" in e:
                    comment = e["elem"].get("comment")
                    e = e["elem"]["val"]
                addr, port = e["concat"]
                got[(fam, addr)] = (comment, port)
    return got


def cmd_floor_elems(path4, path6):
    """The kernel's elements in write-floor's input format."""
    for (fam, addr), (comment, port) in sorted(kernel_elems(path4, path6).items()):
        print(fam, addr, port, comment)


def cmd_churn_expect(n, variant, path4, path6):
    """Elements a sync must write to go from the kernel's sets to variant:
    keys to add, keys to delete, and keys whose comment names a host that
    no longer wants them (kvfence rewrites them: one delete + one add)."""
    have = kernel_elems(path4, path6)
    want = wanted(n, variant)
    add = sum(1 for k in want if k not in have)
    dele = sum(1 for k in have if k not in want)
    rename = sum(1 for k in want if k in have and have[k][0] not in want[k])
    print(add + rename, dele + rename)


def main():
    cmd, args = sys.argv[1], sys.argv[2:]
    if cmd == "names":
        cmd_names(int(args[0]))
    elif cmd == "zone":
        cmd_zone(int(args[0]), int(args[1]), int(args[2]))
    elif cmd == "counts":
        cmd_counts(int(args[0]), int(args[1]))
    elif cmd == "floor-elems":
        cmd_floor_elems(args[0], args[1])
    elif cmd == "churn-expect":
        cmd_churn_expect(int(args[0]), int(args[1]), args[2], args[3])
    else:
        sys.exit(f"fixture.py: unknown command {cmd}")


if __name__ == "__main__":
    main()
