#!/usr/bin/env python3
"""Decodes sFlow v5 datagrams, hsflowd's and psample-sflow's, into one JSON object per sample (flow
or counter), for compare-hsflowd.py. Unlike the VM suite's strict tests/vm/sflow_decode.py, which
fails on any record psample-sflow does not send, it keeps the records it does not know (hsflowd's
host and adaptor counters) as hex. tshark 4.0 cannot be used for the records: it names
extended_egress_queue (1036), extended_transit (1039), extended_queue (1040) and the timestamp
(1043) "Unknown" and then decodes their data as the next record (Malformed). tshark still extracts
the datagrams:

    tshark -r CAPTURE -T fields -e udp.payload | compare-decode.py
    (the first comma-separated item of each line is the datagram)

Each output line: {"datagram": {...header...}, "kind": "flow"|"counters", ...sample fields...,
"records": {"FORMAT": value}}. A truncated or inconsistent length is an error (exit 1), never
skipped; non-zero XDR padding is counted in the sample ("nonzero_padding")."""
import json
import struct
import sys


class Reader:
    def __init__(self, data):
        self.data, self.pos = data, 0

    def take(self, n):
        if self.pos + n > len(self.data):
            raise ValueError(f"truncated: {n} bytes wanted at {self.pos} of {len(self.data)}")
        chunk = self.data[self.pos:self.pos + n]
        self.pos += n
        return chunk

    def u32(self):
        return struct.unpack(">I", self.take(4))[0]

    def u64(self):
        return struct.unpack(">Q", self.take(8))[0]

    def opaque(self):  # XDR variable opaque: length, bytes, zero padding to 4
        n = self.u32()
        data = self.take(n)
        pad = self.take((4 - n % 4) % 4)
        if any(pad):
            self.bad_padding += 1
        return data

    bad_padding = 0  # non-zero XDR padding bytes seen (reported in the sample, not an error)


def flow_record(fmt, r):
    if fmt == 1:  # sampled_header
        proto, frame_length, stripped = r.u32(), r.u32(), r.u32()
        header = r.opaque()
        return {"header_protocol": proto, "frame_length": frame_length, "stripped": stripped,
                "header_length": len(header), "header": header.hex()}
    if fmt in (1036, 1039, 1040):  # egress queue index, transit delay (ns), queue depth (bytes)
        return r.u32()
    if fmt == 1043:  # timestamp, ns since the epoch
        return r.u64()
    return r.take(len(r.data)).hex()


GENERIC = ("ifIndex ifType ifSpeed:q ifDirection ifStatus ifInOctets:q ifInUcastPkts ifInMulticastPkts "
           "ifInBroadcastPkts ifInDiscards ifInErrors ifInUnknownProtos ifOutOctets:q ifOutUcastPkts "
           "ifOutMulticastPkts ifOutBroadcastPkts ifOutDiscards ifOutErrors ifPromiscuousMode").split()


def counter_record(fmt, r):
    if fmt == 1:
        out = {}
        for name in GENERIC:
            name, _, size = name.partition(":")
            out[name] = r.u64() if size == "q" else r.u32()
        return out
    if fmt == 1005:  # port name
        return r.opaque().decode("utf-8", "replace")
    return r.take(len(r.data)).hex()


def records(r, decode):
    out = {}
    for _ in range(r.u32()):
        fmt, body = r.u32(), r.opaque()
        sub = Reader(body)
        value = decode(fmt, sub)
        r.bad_padding += sub.bad_padding
        if sub.pos != len(body):
            raise ValueError(f"record {fmt}: {len(body) - sub.pos} bytes left over")
        key = str(fmt) if fmt < 4096 else f"{fmt >> 12}:{fmt & 0xfff}"
        if key in out:
            raise ValueError(f"record {key} twice in one sample")
        out[key] = value
    return out


def datagram(data):
    r = Reader(data)
    version = r.u32()
    if version != 5:
        raise ValueError(f"version {version}")
    af = r.u32()
    agent = r.take({1: 4, 2: 16}[af])
    head = {"agent": agent.hex(), "sub_agent": r.u32(), "sequence": r.u32(), "uptime_ms": r.u32()}
    samples = []
    for _ in range(r.u32()):
        fmt, body = r.u32(), r.opaque()
        s = Reader(body)
        seq = s.u32()
        if fmt in (1, 2):
            src = s.u32()
            ds_type, ds_index = src >> 24, src & 0xFFFFFF
        elif fmt in (3, 4):
            ds_type, ds_index = s.u32(), s.u32()
        else:
            raise ValueError(f"sample format {fmt}")
        out = {"datagram": head, "format": fmt, "sequence": seq, "ds_type": ds_type, "ds_index": ds_index}
        if fmt in (1, 3):
            out.update(kind="flow", sampling_rate=s.u32(), sample_pool=s.u32(), drops=s.u32())
            if fmt == 1:
                out.update(input=s.u32(), output=s.u32())
            else:
                out.update(input_format=s.u32(), input=s.u32(), output_format=s.u32(), output=s.u32())
            out["records"] = records(s, flow_record)
        else:
            out.update(kind="counters", records=records(s, counter_record))
        if s.pos != len(body):
            raise ValueError(f"sample: {len(body) - s.pos} bytes left over")
        if s.bad_padding:
            out["nonzero_padding"] = s.bad_padding
        samples.append(out)
    if r.pos != len(data):
        raise ValueError(f"datagram: {len(data) - r.pos} bytes left over")
    return samples


def main():
    for n, line in enumerate(sys.stdin, 1):
        # tshark prints udp.payload once more for a UDP packet inside a sampled header record,
        # after a comma: the datagram is the first.
        line = line.strip().split(",")[0].replace(":", "")
        if not line:
            continue
        try:
            for sample in datagram(bytes.fromhex(line)):
                print(json.dumps(sample))
        except (ValueError, KeyError) as err:
            print(f"sflow-decode: datagram {n}: {err}", file=sys.stderr)
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
