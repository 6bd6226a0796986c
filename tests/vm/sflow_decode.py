#!/usr/bin/env python3
"""An independent sFlow v5 decoder for the VM tests (tests/vm/sflow-tests.sh): reads the pcap that
sflow-collector.py writes and yields every sample as a dict, with its datagram's header fields.
Decodes flow samples (formats 1 and 3) with the raw packet header record (1) and the records
psample-sflow makes of hardware attributes (1036, 1039, 1040, 1043), and counter samples (formats
2 and 4) with the generic interface counters (1) and the port name (1005). Anything else, or any
length that does not add up, raises ValueError: the tests then fail.

usage: sflow_decode.py PCAP   (prints one JSON object per sample)
"""
import json
import socket
import struct
import sys


class Reader:
    def __init__(self, data):
        self.data, self.at = data, 0

    def u32(self):
        if self.at + 4 > len(self.data):
            raise ValueError(f"read past the end at {self.at}")
        v = struct.unpack_from("!I", self.data, self.at)[0]
        self.at += 4
        return v

    def u64(self):
        return self.u32() << 32 | self.u32()

    def opaque(self, n):
        pad = (4 - n % 4) % 4
        if self.at + n + pad > len(self.data):
            raise ValueError(f"opaque of {n} past the end at {self.at}")
        b = self.data[self.at:self.at + n]
        if any(self.data[self.at + n:self.at + n + pad]):
            raise ValueError("non-zero XDR padding")
        self.at += n + pad
        return b

    def sub(self, n):
        r = Reader(self.opaque(n))
        return r

    def done(self):
        if self.at != len(self.data):
            raise ValueError(f"{len(self.data) - self.at} bytes left over")


def flow_record(fmt, r):
    if fmt == 1:
        rec = {"header_protocol": r.u32(), "frame_length": r.u32(), "stripped": r.u32()}
        n = r.u32()
        rec["header_length"] = n
        rec["header"] = r.opaque(n).hex()
        return rec
    if fmt == 1036:
        return {"queue": r.u32()}
    if fmt == 1039:
        return {"delay": r.u32()}
    if fmt == 1040:
        return {"depth": r.u32()}
    if fmt == 1043:
        return {"nanoseconds": r.u64()}
    raise ValueError(f"unexpected flow record format {fmt}")


GENERIC = ["ifIndex", "ifType", "ifSpeed", "ifDirection", "ifStatus", "ifInOctets", "ifInUcastPkts",
           "ifInMulticastPkts", "ifInBroadcastPkts", "ifInDiscards", "ifInErrors", "ifInUnknownProtos",
           "ifOutOctets", "ifOutUcastPkts", "ifOutMulticastPkts", "ifOutBroadcastPkts", "ifOutDiscards",
           "ifOutErrors", "ifPromiscuousMode"]
WIDE = {"ifSpeed", "ifInOctets", "ifOutOctets"}


def counter_record(fmt, r):
    if fmt == 1:
        return {name: (r.u64() if name in WIDE else r.u32()) for name in GENERIC}
    if fmt == 1005:
        n = r.u32()
        return {"name": r.opaque(n).decode()}
    raise ValueError(f"unexpected counter record format {fmt}")


def records(r, decode):
    out = {}
    for _ in range(r.u32()):
        tag = r.u32()
        enterprise, fmt = tag >> 12, tag & 0xFFF
        if enterprise != 0:
            raise ValueError(f"enterprise {enterprise}")
        body = r.sub(r.u32())
        if fmt in out:
            raise ValueError(f"record {fmt} twice")
        out[fmt] = decode(fmt, body)
        body.done()
    return out


def sample(fmt, r):
    s = {"format": fmt, "seq": r.u32()}
    if fmt in (1, 2):
        src = r.u32()
        s["ds_class"], s["ds_index"] = src >> 24, src & 0xFFFFFF
    else:
        s["ds_class"], s["ds_index"] = r.u32(), r.u32()
    if fmt in (1, 3):
        s["kind"] = "flow"
        s["rate"], s["pool"], s["drops"] = r.u32(), r.u32(), r.u32()
        if fmt == 1:
            i, o = r.u32(), r.u32()
            if i >> 30 or o >> 30:
                raise ValueError(f"interface format bits in {i:#x} {o:#x}")
            s["input"], s["output"] = i, o
        else:
            if r.u32() != 0:
                raise ValueError("input format")
            s["input"] = r.u32()
            if r.u32() != 0:
                raise ValueError("output format")
            s["output"] = r.u32()
        s["records"] = records(r, flow_record)
    else:
        s["kind"] = "counters"
        s["records"] = records(r, counter_record)
    return s


def datagram(data):
    r = Reader(data)
    d = {"version": r.u32()}
    if d["version"] != 5:
        raise ValueError(f"version {d['version']}")
    family = r.u32()
    if family == 1:
        d["agent"] = socket.inet_ntop(socket.AF_INET, r.opaque(4))
    elif family == 2:
        d["agent"] = socket.inet_ntop(socket.AF_INET6, r.opaque(16))
    else:
        raise ValueError(f"agent address type {family}")
    d["sub_agent"], d["dgram_seq"], d["uptime"] = r.u32(), r.u32(), r.u32()
    samples = []
    for _ in range(r.u32()):
        tag = r.u32()
        if tag >> 12:
            raise ValueError(f"sample enterprise {tag >> 12}")
        body = r.sub(r.u32())
        samples.append(sample(tag & 0xFFF, body))
        body.done()
    r.done()
    return d, samples


def read_pcap(path):
    """Yields (time, sFlow datagram bytes) from sflow-collector.py's pcap."""
    data = open(path, "rb").read()
    at = 24
    while at < len(data):
        sec, usec, caplen, _ = struct.unpack_from("<IIII", data, at)
        at += 16
        frame = data[at:at + caplen]
        at += caplen
        yield sec + usec / 1e6, frame[28:]  # IPv4 and UDP headers made up by the collector


def read_samples(path):
    """Every sample of every datagram, each with its datagram's fields and arrival time."""
    out = []
    for t, payload in read_pcap(path):
        d, samples = datagram(payload)
        for s in samples:
            s.update(d)
            s["time"] = t
            out.append(s)
    return out


if __name__ == "__main__":
    for s in read_samples(sys.argv[1]):
        s["records"] = {str(k): v for k, v in s["records"].items()}
        print(json.dumps(s))
