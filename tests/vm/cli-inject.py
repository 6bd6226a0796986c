#!/usr/bin/env python3
"""Sends one forged psample sample carrying every attribute a switch ASIC driver sends (in- and
out-ifindex, out-tc, out-tc-occ, latency, timestamp) into the "packets" multicast group of the
current network namespace, as a userspace producer would: the way to check the CLI's full line
(the kernel selftests' `cut -d ' ' -f 16`) without the hardware. Netlink only, no network traffic.
Needs CAP_NET_ADMIN.

usage: cli-inject.py GROUP TIMESTAMP_NS [--iif N] [--oif N] [--origsize N] [--rate N] [--seq N]
                     [--proto N] [--no-hw] [--data-len N | --data-hex HEX] [--nl-seq N]
                     [--out-tc N] [--out-tc-occ N] [--latency N]
An option set to 0 (--iif, --oif, --proto) leaves its attribute out; --no-hw leaves out out-tc,
out-tc-occ and latency (a VPP-style sample). --data-len N: N bytes counting up from 0.
--nl-seq N: the netlink header's sequence number (default 1; the kernel's own samples carry 0).
--out-tc N, --out-tc-occ N, --latency N: the hardware attributes' values (default 3, 123456, 789).
--cookie HEX: a USER_COOKIE attribute (type 15, newer than Mellanox's psample), put right after
GROUP_SEQ, before the attributes the original knew.
Exit status 3: the group id cannot be addressed through sendto()'s 32-bit group mask.
"""
import argparse
import socket
import struct
import sys

NETLINK_GENERIC, GENL_ID_CTRL, CTRL_CMD_GETFAMILY = 16, 0x10, 3
CTRL_ATTR_FAMILY_ID, CTRL_ATTR_FAMILY_NAME, CTRL_ATTR_MCAST_GROUPS = 1, 2, 7
CTRL_ATTR_MCAST_GRP_NAME, CTRL_ATTR_MCAST_GRP_ID = 1, 2
NLM_F_REQUEST = 1
# include/uapi/linux/psample.h
(IIFINDEX, OIFINDEX, ORIGSIZE, SAMPLE_GROUP, GROUP_SEQ, SAMPLE_RATE, DATA) = range(7)
OUT_TC, OUT_TC_OCC, LATENCY, TIMESTAMP, PROTO, USER_COOKIE = 10, 11, 12, 13, 14, 15
PSAMPLE_CMD_SAMPLE = 0

# What the CLI test expects back (tests/vm/cli-tests.sh): keep the two in step.
DATA_BYTES = bytes(range(0, 20)) + b"psample forged data!" + bytes([0x7f, 0x80, 0xff])


def attr(ty, payload):
    a = struct.pack("=HH", 4 + len(payload), ty) + payload
    return a + b"\0" * (-len(a) % 4)


def attrs(buf):
    while len(buf) >= 4:
        ln, ty = struct.unpack_from("=HH", buf)
        yield ty & 0x3FFF, buf[4:ln]
        buf = buf[(ln + 3) & ~3:]


def genl_msg(family, cmd, body, flags=0, seq=1):
    return struct.pack("=IHHII", 16 + 4 + len(body), family, flags, seq, 0) + bytes([cmd, 1, 0, 0]) + body


def resolve(sock):
    sock.send(genl_msg(GENL_ID_CTRL, CTRL_CMD_GETFAMILY, attr(CTRL_ATTR_FAMILY_NAME, b"psample\0"), NLM_F_REQUEST))
    reply = sock.recv(65536)
    if struct.unpack_from("=H", reply, 4)[0] != GENL_ID_CTRL:
        sys.exit("cli-inject: psample family not found (modprobe psample)")
    family, packets = None, None
    for ty, val in attrs(reply[20:]):
        if ty == CTRL_ATTR_FAMILY_ID:
            family = struct.unpack("=H", val[:2])[0]
        elif ty == CTRL_ATTR_MCAST_GROUPS:
            for _, grp in attrs(val):
                fields = dict(attrs(grp))
                if fields.get(CTRL_ATTR_MCAST_GRP_NAME, b"").rstrip(b"\0") == b"packets":
                    packets = struct.unpack("=I", fields[CTRL_ATTR_MCAST_GRP_ID])[0]
    return family, packets


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("group", type=int)
    ap.add_argument("timestamp", type=int)
    ap.add_argument("--iif", type=int, default=5)
    ap.add_argument("--oif", type=int, default=6)
    ap.add_argument("--origsize", type=int, default=1000)
    ap.add_argument("--rate", type=int, default=100)
    ap.add_argument("--seq", type=int, default=42)
    ap.add_argument("--proto", type=lambda v: int(v, 0), default=0x800)
    ap.add_argument("--no-hw", action="store_true")
    ap.add_argument("--data-len", type=int)
    ap.add_argument("--data-hex")
    ap.add_argument("--nl-seq", type=int, default=1)
    ap.add_argument("--cookie")
    ap.add_argument("--out-tc", type=int, default=3)
    ap.add_argument("--out-tc-occ", type=int, default=123456)
    ap.add_argument("--latency", type=int, default=789)
    a = ap.parse_args()
    group, timestamp = a.group, a.timestamp
    data = DATA_BYTES
    if a.data_len is not None:
        data = bytes(i & 0xFF for i in range(a.data_len))
    elif a.data_hex is not None:
        data = bytes.fromhex(a.data_hex)
    sock = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, NETLINK_GENERIC)
    sock.bind((0, 0))
    family, packets = resolve(sock)
    if not packets or packets > 32:
        print(f"cli-inject: packets group id {packets} cannot be addressed by sendto", file=sys.stderr)
        sys.exit(3)
    parts = []
    if a.iif:
        parts.append(attr(IIFINDEX, struct.pack("=H", a.iif)))  # u16, as the kernel sends it
    if a.oif:
        parts.append(attr(OIFINDEX, struct.pack("=H", a.oif)))
    parts += [
        attr(ORIGSIZE, struct.pack("=I", a.origsize)),
        attr(SAMPLE_GROUP, struct.pack("=I", group)),
        attr(GROUP_SEQ, struct.pack("=I", a.seq)),
    ]
    if a.cookie:
        parts.append(attr(USER_COOKIE, bytes.fromhex(a.cookie)))
    parts.append(attr(SAMPLE_RATE, struct.pack("=I", a.rate)))
    if not a.no_hw:
        parts += [
            attr(OUT_TC, struct.pack("=H", a.out_tc)),
            attr(OUT_TC_OCC, struct.pack("=Q", a.out_tc_occ)),
            attr(LATENCY, struct.pack("=Q", a.latency)),
        ]
    parts.append(attr(TIMESTAMP, struct.pack("=Q", timestamp)))
    if a.proto:
        parts.append(attr(PROTO, struct.pack("=H", a.proto)))
    parts.append(attr(DATA, data))
    body = b"".join(parts)
    sock.sendto(genl_msg(family, PSAMPLE_CMD_SAMPLE, body, seq=a.nl_seq), (0, 1 << (packets - 1)))


if __name__ == "__main__":
    main()
