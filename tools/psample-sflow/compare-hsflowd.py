#!/usr/bin/env python3
"""Compares hsflowd's and psample-sflow's export of the same psample stream (compare-hsflowd-vm.sh),
sample by sample and field by field, from sflow-decode.py's JSON lines.

usage: compare-hsflowd.py HSFLOWD.json PSAMPLE_SFLOW.json IP_LINK.json FRAMES NAME=IFINDEX...

Flow samples are matched by (data source, header bytes): each test frame's header is unique. Every
field is compared: sample format, data source, input, output, sampling_rate, sample_pool, drops,
the per-source sequence number, the sampled header record (header_protocol, frame_length,
stripped, header length and bytes) and every extended record, with its value. Counter samples: the
last one of each exporter per sampled port, every generic (0:1) field and the port name (0:1005),
against each other and against the kernel's 64-bit link statistics (ip -j -s -s link).
A difference listed in KNOWN (each also in psample-sflow.8, DIFFERENCES FROM HSFLOWD) is printed
as such; any other difference, a missing sample or a missing counter sample exits 1."""
import json
import sys
from collections import defaultdict

# field -> why psample-sflow differs on purpose (psample-sflow.8, DIFFERENCES FROM HSFLOWD).
KNOWN = {
    "format": "hsflowd is built with SFL_USE_32BIT_INDEX and always sends expanded samples (3, 4); "
              "psample-sflow sends compact ones (1, 2) unless an ifindex needs expanded (--expanded)",
    "input": "hsflowd replaces a veth by its peer when the peer is in its namespace (readPackets.c: "
             "the container end mapped to the host end); psample-sflow sends the kernel's ifindex",
    "output": "as input",
    "counter sources": "hsflowd also sends its host's counters (data source 2:1, records 2000-2010); "
                       "psample-sflow polls only the ports that sent flow samples",
    "counters.ifInMulticastPkts": "hsflowd sends unknown (0xFFFFFFFF); psample-sflow the kernel's "
                                  "multicast count",
    "counters.ifInUnknownProtos": "hsflowd sends unknown (0xFFFFFFFF); psample-sflow the kernel's rx_nohandler",
    "counters.ifOutOctets": "hsflowd counts from its own start (deltas of /proc/net/dev); psample-sflow "
                            "sends the kernel's 64-bit counters, as ip -s link shows them",
    "counters.ifOutUcastPkts": "as counters.ifOutOctets",
}
# hsflowd's counters against the kernel's differ by what passed before hsflowd started (see
# counters.ifOutOctets): known as well.
KNOWN_PREFIX = {"kernel vs hsflowd: ": "hsflowd counts from its own start (see counters.ifOutOctets)"}
UNKNOWN32 = 0xFFFFFFFF  # a generic counter's "unknown"


def load(path):
    return [json.loads(line) for line in open(path)]


def main():
    hs_path, ps_path, ip_path, frames = sys.argv[1:5]
    frames = int(frames)
    ports = {int(v): k for k, v in (a.split("=") for a in sys.argv[5:])}
    hs, ps = load(hs_path), load(ps_path)
    diffs = defaultdict(list)  # field -> examples
    problems = []

    def flows(samples, who):
        out = {}
        for s in samples:
            if s["kind"] != "flow" or s["ds_index"] not in ports:
                continue
            key = (s["ds_index"], s["records"].get("1", {}).get("header", ""))
            if key in out:
                problems.append(f"{who}: two flow samples for one frame at {ports[s['ds_index']]}")
            out[key] = s
        return out

    hf, pf = flows(hs, "hsflowd"), flows(ps, "psample-sflow")
    for who, got in (("hsflowd", hf), ("psample-sflow", pf)):
        for idx, name in ports.items():
            k = sum(1 for key in got if key[0] == idx)
            if k != frames:
                problems.append(f"{who}: {k} flow samples at {name}, {frames} frames sent")
    common = sorted(set(hf) & set(pf), key=lambda k: (k[0], hf[k]["sequence"]))
    fields = ["format", "ds_type", "ds_index", "input", "output", "sampling_rate", "sample_pool",
              "drops", "sequence"]
    for key in common:
        h, p = hf[key], pf[key]
        for f in fields:
            if h.get(f) != p.get(f):
                diffs[f].append((ports[key[0]], h.get(f), p.get(f)))
        hr, pr = h["records"], p["records"]
        for f in sorted(set(hr.get("1", {})) | set(pr.get("1", {}))):
            if hr.get("1", {}).get(f) != pr.get("1", {}).get(f):
                diffs["header." + f].append((ports[key[0]], hr.get("1", {}).get(f), pr.get("1", {}).get(f)))
        for fmt in sorted(set(hr) | set(pr)):
            if fmt != "1" and hr.get(fmt) != pr.get(fmt):
                diffs["record " + fmt].append((ports[key[0]], hr.get(fmt), pr.get(fmt)))
    print(f"compare-hsflowd: flow samples: hsflowd {len(hf)}, psample-sflow {len(pf)}, compared {len(common)}"
          f" ({len(fields) + 5} fixed fields and every extended record each)")

    # Counter samples: the last per port, and the kernel's counters after the traffic.
    links = {l["ifindex"]: l for l in json.load(open(ip_path))}
    last = {}
    for who, samples in (("hsflowd", hs), ("psample-sflow", ps)):
        for s in samples:
            if s["kind"] == "counters" and s["ds_index"] in ports and s["ds_type"] == 0:
                last[(who, s["ds_index"])] = s
        others = sorted({(s["ds_type"], s["ds_index"]) for s in samples if s["kind"] == "counters"} -
                        {(0, i) for i in ports})
        if others:
            diffs["counter sources"].append((who, "also polls", others))
    compared_counters = 0
    for idx, name in ports.items():
        h, p = last.get(("hsflowd", idx)), last.get(("psample-sflow", idx))
        if h is None or p is None:
            problems.append(f"no counter sample for {name}: hsflowd {h is not None}, psample-sflow {p is not None}")
            continue
        compared_counters += 1
        hg, pg = h["records"].get("1", {}), p["records"].get("1", {})
        for f in sorted(set(hg) | set(pg)):
            if hg.get(f) != pg.get(f):
                diffs["counters." + f].append((name, hg.get(f), pg.get(f)))
        if h["records"].get("1005") != p["records"].get("1005"):
            diffs["counters.port_name"].append((name, h["records"].get("1005"), p["records"].get("1005")))
        for fmt in sorted(set(h["records"]) | set(p["records"])):
            if fmt not in ("1", "1005") and h["records"].get(fmt) != p["records"].get(fmt):
                diffs["counter record " + fmt].append((name, h["records"].get(fmt), p["records"].get(fmt)))
        st = links[idx]["stats64"]
        kernel = {"ifInOctets": st["rx"]["bytes"], "ifOutOctets": st["tx"]["bytes"],
                  "in packets": st["rx"]["packets"], "out packets": st["tx"]["packets"],
                  "ifInErrors": st["rx"]["errors"], "ifOutErrors": st["tx"]["errors"],
                  "ifInDiscards": st["rx"]["dropped"], "ifOutDiscards": st["tx"]["dropped"]}
        for who, g in (("hsflowd", hg), ("psample-sflow", pg)):
            got = dict(g)
            # Packets: the sum of the known ones of unicast, multicast and broadcast.
            got["in packets"] = sum(g.get(k, 0) for k in ("ifInUcastPkts", "ifInMulticastPkts", "ifInBroadcastPkts")
                                    if g.get(k, 0) != UNKNOWN32)
            got["out packets"] = sum(g.get(k, 0) for k in ("ifOutUcastPkts", "ifOutMulticastPkts", "ifOutBroadcastPkts")
                                     if g.get(k, 0) != UNKNOWN32)
            for f, v in kernel.items():
                if got.get(f) != v:
                    diffs[f"kernel vs {who}: {f}"].append((name, v, got.get(f)))
        print(f"compare-hsflowd: counters {name}: ip link rx {st['rx']['bytes']} B {st['rx']['packets']} p, "
              f"tx {st['tx']['bytes']} B {st['tx']['packets']} p; hsflowd in {hg.get('ifInOctets')} out "
              f"{hg.get('ifOutOctets')}; psample-sflow in {pg.get('ifInOctets')} out {pg.get('ifOutOctets')}")
    print(f"compare-hsflowd: counter samples compared: {compared_counters} ports (last sample of each exporter)")

    unknown = 0
    for field, ex in sorted(diffs.items()):
        why = KNOWN.get(field) or next((v for k, v in KNOWN_PREFIX.items() if field.startswith(k)), None)
        unknown += why is None
        print(f"compare-hsflowd: {'known' if why else 'DIFFERENCE'}: {field}: {len(ex)} samples, "
              f"e.g. (port, hsflowd, psample-sflow or kernel) {ex[:2]}")
        if why:
            print(f"    why: {why}")
    for p in problems:
        print(f"compare-hsflowd: FAIL: {p}")
    print(f"compare-hsflowd: {len(diffs)} fields differ ({unknown} not listed as known), {len(problems)} problems")
    return 0 if not problems and not unknown else 1


if __name__ == "__main__":
    sys.exit(main())
