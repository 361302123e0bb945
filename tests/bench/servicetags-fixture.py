#!/usr/bin/python3
# A synthetic public-cloud Service Tags file of the real size (~4 MB,
# 3,000 tags, AzureKeyVault, AzureActiveDirectory and AzureResourceManager
# among them), the same on every run (seed 1).
#   servicetags-fixture.py OUT.json
import ipaddress, json, random, sys
random.seed(1)
names = ["AzureKeyVault", "AzureActiveDirectory", "AzureResourceManager"] + \
        ["Tag%04d.Region%d" % (i, i % 60) for i in range(2997)]
vals = []
for n in names:
    pre = []
    for _ in range(random.randint(5, 60)):
        if random.random() < 0.7:
            a = ipaddress.IPv4Address(random.randint(0x14000000, 0x34ffffff))
            l = random.choice([22, 24, 26, 27, 28, 29, 30, 31, 32])
        else:
            a = ipaddress.IPv6Address(random.getrandbits(64) << 64 | 0x2603 << 112)
            l = random.choice([44, 48, 56, 64, 80, 96, 120, 125])
        pre.append(str(ipaddress.ip_network("%s/%d" % (a, l), strict=False)))
    vals.append({"name": n, "id": n, "properties": {"changeNumber": 1, "region": "",
                 "regionId": 0, "platform": "Azure", "systemService": n.split(".")[0],
                 "addressPrefixes": pre, "networkFeatures": None}})
json.dump({"changeNumber": 500, "cloud": "Public", "values": vals}, open(sys.argv[1], "w"), indent=2)
