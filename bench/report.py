#!/usr/bin/env python3
"""Summarizes a benchmark session (bench/in-vm.sh's OUTDIR/raw.csv and memory.txt, plus the
optional extra reports next to them) into OUTDIR/results.md, and draws the plot (SVG).

    report.py OUTDIR PLOT.svg

Ratios are paired: each libpsample run is compared with the minimal-receiver run next to it
(same phase, trunc and repetition; bench/in-vm.sh runs them back to back, the order flipping).
The headline is the median of those per-pair ratios, with a 95 % bootstrap interval of that
median (10,000 resamples of the pairs, fixed seed: the same raw data gives the same report).
"""
import csv
import os
import random
import statistics
import sys

SEED = 20261202
RESAMPLES = 10000
INTS = ("trunc", "len", "rate", "rep", "sent", "sampled", "received", "lost", "kernel_drops", "seq_gaps",
        "enobufs", "rcvbuf", "cpu_ns", "user_ns", "calls", "rx_wall_ns", "send_ns", "send_rate", "send_cpu_ns",
        "subscribers")
# Receivers that run with the library's defaults: every one must lose nothing.
LIB_DEFAULTS = {"psample", "go", "py", "lat-block", "lat-poll"}
RX_LABEL = {
    "baseline": "minimal receiver (recv_baseline, 32 MiB + NO_ENOBUFS)",
    "psample": "libpsample defaults (recv_psample)",
    "go": "Go binding (bench/recv_go)",
    "py": "Python binding (bench/recv_py.py)",
    "lat-baseline": "minimal receiver, blocking recvmmsg",
    "lat-block": "libpsample, blocking psample_recv",
    "lat-poll": "libpsample, nonblocking, poll() then psample_recv",
    "none": "no subscriber",
    "group8": "one subscriber, kernel group filter: group 8 (1 %)",
    "allgroups": "one subscriber, all groups",
}


def load(path):
    with open(path) as f:
        rows = [r for r in csv.DictReader(f) if r["phase"] != "warmup"]
    for r in rows:
        for k in INTS:
            r[k] = int(r[k] or 0)
        for k in ("p50_ns", "p99_ns", "max_ns"):
            r[k] = int(r[k]) if r.get(k) else None
        if r["phase"] == "groups" and r["rx"] != "none":
            # tc's counter of a sample action counts every packet it saw, not the ones it sampled
            # (1 in 100 for group 8), so sampled - received means nothing here: the loss is the
            # socket's own drop counter, exact for a netlink socket.
            r["lost"] = r["kernel_drops"]
        n = r["received"]
        r["cpu_per"] = r["cpu_ns"] / n if n else float("nan")
        r["user_per"] = r["user_ns"] / n if n else float("nan")
        r["per_call"] = n / r["calls"] if r["calls"] else 0.0
        r["send_per"] = r["send_cpu_ns"] / r["sent"] if r["sent"] else float("nan")
        # The sender's CPU per datagram is the same work whatever the receiver, so it tells how
        # fast the VM ran during this run; dividing by it takes out part of the host's drift.
        r["norm"] = r["cpu_per"] / r["send_per"] if r["send_per"] == r["send_per"] and r["send_per"] else float("nan")
    return rows


def med(values):
    values = [v for v in values if v == v]
    return statistics.median(values) if values else float("nan")


def bootstrap(xs):
    """95 % interval of the median of xs (percentile bootstrap, fixed seed)."""
    if len(xs) < 2:
        return (float("nan"), float("nan"))
    rng = random.Random(SEED)
    meds = sorted(statistics.median(rng.choices(xs, k=len(xs))) for _ in range(RESAMPLES))
    return meds[int(0.025 * RESAMPLES)], meds[int(0.975 * RESAMPLES) - 1]


def paired(rows, ours, base, key="cpu_per"):
    """ours/base for each repetition that has both (back-to-back runs of one phase and trunc)."""
    by = {}
    for r in rows:
        by.setdefault((r["rx"], r["rep"]), []).append(r[key])
    return [med(by[(ours, rep)]) / med(by[(base, rep)])
            for rep in sorted({r["rep"] for r in rows}) if (ours, rep) in by and (base, rep) in by]


def ratio_cell(xs):
    lo, hi = bootstrap(xs)
    ci = f" [{lo:.3f}, {hi:.3f}]" if lo == lo else ""
    return f"**{med(xs):.3f}×**{ci}"


def verdict(ok):
    return "**met**" if ok else "**not met**"


def interval_verdict(xs, limit):
    """Met when the whole 95 % interval of the median is at or below `limit`, not met when all
    of it is above; otherwise the session cannot tell (the median's side is shown)."""
    lo, hi = bootstrap(xs)
    if hi == hi and hi <= limit:
        return verdict(True)
    if lo == lo and lo > limit:
        return verdict(False)
    return f"**undecided**: the interval spans {limit:g} (median {'≤' if med(xs) <= limit else '>'} {limit:g})"


def fmt_list(xs, digits=2):
    return ", ".join(f"{x:.{digits}f}" for x in xs)


def us(ns):
    return f"{ns / 1000:.1f}" if ns == ns else "–"


def main():
    outdir, plot = sys.argv[1], sys.argv[2]  # plot: an .svg
    rows = load(os.path.join(outdir, "raw.csv"))
    phase = {p: [r for r in rows if r["phase"] == p] for p in ("cpu", "bindings", "latency", "scale", "groups")}
    md, targets = [], []

    # Loss: every run with library defaults, and the accounting's sanity.
    lib_runs = [r for r in rows if r["rx"] in LIB_DEFAULTS or (r["phase"] == "scale" and r["rx"] == "psample")]
    lost_total = sum(r["lost"] for r in lib_runs)
    exact = all(r["lost"] == r["kernel_drops"] for r in rows if r["rx"] != "none" and r["kernel_drops"] >= 0)
    sane = all(r["received"] <= r["sampled"] and r["sampled"] == r["sent"]
               for r in rows if r["rx"] != "none" and r["phase"] != "groups")

    # CPU per sample, paired.
    cpu_md = []
    truncs = sorted({r["trunc"] for r in phase["cpu"]})
    plot_pairs = {}
    for trunc in truncs:
        sub = [r for r in phase["cpu"] if r["trunc"] == trunc]
        per = paired(sub, "psample", "baseline")
        norm = paired(sub, "psample", "baseline", "norm")
        plot_pairs[trunc] = per
        if not per:
            continue
        lo, hi = bootstrap(per)
        targets.append((f"CPU per sample, trunc {trunc}: at most 1.05× the minimal receiver",
                        f"{ratio_cell(per)} ({len(per)} pairs); with each run divided by its sender's CPU per "
                        f"datagram: {ratio_cell(norm)}", interval_verdict(per, 1.05)))
        b = [r for r in sub if r["rx"] == "baseline"]
        p = [r for r in sub if r["rx"] == "psample"]
        cpu_md.append(f"| {trunc} | {len(per)} | {us(med([r['cpu_per'] for r in b]))} | "
                      f"{us(med([r['cpu_per'] for r in p]))} | {us(med([r['user_per'] for r in b]))} / "
                      f"{us(med([r['user_per'] for r in p]))} | {med([r['per_call'] for r in b]):.1f} / "
                      f"{med([r['per_call'] for r in p]):.1f} | {ratio_cell(per)} | {fmt_list(sorted(per))} | {ratio_cell(norm)} | "
                      f"{sum(r['lost'] for r in b)} / {sum(r['lost'] for r in p)} |")

    # Latency.
    lat_md, p99 = [], {}
    for rx in ("lat-baseline", "lat-block", "lat-poll"):
        runs = [r for r in phase["latency"] if r["rx"] == rx and r["p50_ns"] is not None]
        if not runs:
            continue
        p99[rx] = med([r["p99_ns"] for r in runs])
        lat_md.append(f"| {RX_LABEL[rx]} | {len(runs)} | {sum(r['received'] for r in runs)} | "
                      f"{us(med([r['p50_ns'] for r in runs]))} | {us(p99[rx])} | "
                      f"{us(max(r['max_ns'] for r in runs))} | "
                      f"{'/'.join(us(r['p99_ns']) for r in sorted(runs, key=lambda r: r['rep']))} | "
                      f"{us(med([r['cpu_per'] for r in runs]))} | {sum(r['lost'] for r in runs)} |")
    for rx in ("lat-block", "lat-poll"):
        if rx in p99 and "lat-baseline" in p99:
            per = paired(phase["latency"], rx, "lat-baseline", "p99_ns")
            targets.append((f"p99 latency, {RX_LABEL[rx]}: at most 1.2× the minimal receiver's",
                            f"{us(p99[rx])} µs against {us(p99['lat-baseline'])} µs: "
                            f"{p99[rx] / p99['lat-baseline']:.2f}× (per repetition: {fmt_list(per)})",
                            verdict(p99[rx] <= 1.2 * p99["lat-baseline"]) +
                            (" (one run each: no interval)" if len(per) < 2 else "")))

    # Bindings.
    bind_md = []
    for trunc in sorted({r["trunc"] for r in phase["bindings"]}):
        sub = [r for r in phase["bindings"] if r["trunc"] == trunc]
        for rx, limit in (("psample", None), ("go", 1.5), ("py", 10.0)):
            runs = [r for r in sub if r["rx"] == rx]
            if not runs:
                continue
            per = paired(sub, rx, "psample") if limit else []
            cell = ratio_cell(per) if per else "1"
            bind_md.append(f"| {trunc} | {RX_LABEL[rx]} | {len(runs)} | {us(med([r['cpu_per'] for r in runs]))} | "
                           f"{us(med([r['user_per'] for r in runs]))} | {med([r['per_call'] for r in runs]):.1f} | "
                           f"{cell} | {fmt_list(per)} | {sum(r['lost'] for r in runs)} |")
            if limit:
                targets.append((f"{'Go' if rx == 'go' else 'Python'} receiver, trunc {trunc}: at most {limit:g}× "
                                "the C receiver", f"{ratio_cell(per)} ({len(per)} runs each)",
                                interval_verdict(per, limit)))

    # Scale.
    scale_md, scale_plot = [], []
    one = None
    for k in sorted({r["subscribers"] for r in phase["scale"]}):
        runs = [r for r in phase["scale"] if r["subscribers"] == k]
        by_run = {}
        for r in runs:
            by_run.setdefault(r["rep"], []).append(r)
        rx_cpu = [r["cpu_per"] for r in runs]
        send = med([rs[0]["send_per"] for rs in by_run.values()])
        one = send if k == 1 else one
        scale_plot.append((k, med(rx_cpu), send))
        scale_md.append(f"| {k} | {len(by_run)} | {us(med(rx_cpu))} ({us(min(rx_cpu))}–{us(max(rx_cpu))}) | "
                        f"{med([r['per_call'] for r in runs]):.1f} | {us(send)} | "
                        f"{send / one if one else float('nan'):.2f}× | "
                        f"{us((send - one) / (k - 1)) if one and k > 1 else '–'} | "
                        f"{med([rs[0]['send_rate'] for rs in by_run.values()]):.0f} | "
                        f"{sum(r['lost'] for r in runs)} |")

    # Group filter: the sender's CPU per datagram.
    grp_md = []
    g = phase["groups"]
    if g:
        for rx in ("none", "group8", "allgroups"):
            runs = [r for r in g if r["rx"] == rx]
            if not runs:
                continue
            per = paired(g, rx, "none", "send_per") if rx != "none" else []
            grp_md.append(f"| {RX_LABEL[rx]} | {len(runs)} | {us(med([r['send_per'] for r in runs]))} | "
                          f"{fmt_list([r['send_per'] / 1000 for r in sorted(runs, key=lambda r: r['rep'])], 1)} | "
                          f"{ratio_cell(per) if per else '1'} | {fmt_list(per)} | "
                          f"{'/'.join(str(r['received']) for r in sorted(runs, key=lambda r: r['rep'])) if rx != 'none' else '–'} | "
                          f"{sum(r['lost'] for r in runs) if rx != 'none' else '–'} |")
            if rx == "group8" and per:
                targets.append(("Sender CPU per datagram with a subscriber to a group that gets 1 % of the "
                                "samples (kernel group filter): at most 1.05× no subscriber",
                                f"{ratio_cell(per)} ({len(per)} repetitions)", interval_verdict(per, 1.05)))

    # Memory.
    mem_md = []
    mem_path = os.path.join(outdir, "memory.txt")
    if os.path.exists(mem_path):
        for line in open(mem_path):
            if not line.startswith("memory "):
                continue
            m = dict(kv.split("=", 1) for kv in line.split()[1:])
            q = int(m["received"])
            mem_md.append(f"| {m['batch'] if m['batch'] != '0' else '0 (default: 16)'} | "
                          f"{int(m['rss_subscribed_kib']) - int(m['rss_before_kib'])} | "
                          f"{int(m['rss_drained_kib']) - int(m['rss_before_kib'])} | {m.get('anon_huge_drained_kib', '–')} | "
                          f"{int(m['vsz_subscribed_kib']) - int(m['vsz_before_kib'])} | "
                          f"{int(m['rcvbuf']) / 2**20:.0f} MiB | {q} | {int(m['rmem_queued']) / 2**20:.2f} MiB | "
                          f"{int(m['rmem_queued']) / q if q else float('nan'):.0f} | {m['calls']} | "
                          f"{m['kernel_drops']} |")

    # Deterministic measures (bench/instructions.sh's key=value lines, when bench/run ran it).
    instr_md = deterministic(os.path.join(outdir, "instructions.txt"), targets)

    targets.append(("0 samples lost with library defaults, in every run",
                    f"{lost_total} lost in {len(lib_runs)} runs", verdict(lost_total == 0)))

    md.append(f"{len(rows)} rows (one per receiver and run). Sanity, every run outside the groups phase (there "
              "tc's counters count packets seen, not sampled, and loss is the socket's drop counter): "
              "received ≤ sampled and sampled (tc) = sent: "
              f"**{'yes' if sane else 'NO'}**; lost (sampled − received) = the socket's kernel drop counter: "
              f"**{'yes' if exact else 'NO'}**.")
    md.append("")
    md.append("### Against the targets")
    md.append("")
    md.append("| target | figure [95 % bootstrap interval of the median] | verdict |")
    md.append("|---|---|---|")
    for t in targets:
        md.append(f"| {t[0]} | {t[1]} | {t[2]} |")
    extra = os.path.join(outdir, "targets-extra.md")
    if os.path.exists(extra):  # rows from the deterministic measures (instructions, system calls)
        md.extend(line.rstrip("\n") for line in open(extra) if line.strip())
    md.append("")
    if cpu_md:
        md.append("### CPU per sample: libpsample against the minimal receiver (unpaced, back-to-back pairs)")
        md.append("")
        md.append("| trunc | pairs | minimal µs/sample | libpsample µs/sample | of which user µs (min / lib) | "
                  "samples per call (min / lib) | ratio, median of pairs [95 % CI] | every pair's ratio, sorted | "
                  "ratio with each run first divided by its sender's CPU per datagram [95 % CI] | lost (min / lib) |")
        md.append("|---:|---:|---:|---:|---|---|---|---|---|---|")
        md.extend(cpu_md)
        md.append("")
    if lat_md:
        md.append("### Latency: receive time − `timestamp_ns` (CLOCK_REALTIME), paced sender")
        md.append("")
        md.append("| receiver | runs | samples | p50 µs (median of runs) | p99 µs (median of runs) | max µs (all runs) | "
                  "p99 per run | CPU µs/sample | lost |")
        md.append("|---|---:|---:|---:|---:|---:|---|---:|---:|")
        md.extend(lat_md)
        md.append("")
    if bind_md:
        md.append("### Bindings: CPU per sample against the C receiver (library defaults, unpaced)")
        md.append("")
        md.append("| trunc | receiver | runs | CPU µs/sample (median) | of which user | samples per call | "
                  "× C, median of same-repetition ratios [95 % CI] | per repetition | lost |")
        md.append("|---:|---|---:|---:|---:|---:|---|---|---:|")
        md.extend(bind_md)
        md.append("")
    if scale_md:
        md.append("### Scale: N libpsample subscribers on the same samples (trunc 128, unpaced)")
        md.append("")
        md.append("| subscribers | runs | receiver CPU µs/sample, median (min–max over receivers) | samples per call | "
                  "sender CPU µs/datagram (median of runs) | × 1 subscriber | sender µs per extra subscriber | "
                  "sender datagrams/s | lost |")
        md.append("|---:|---:|---|---:|---:|---:|---:|---:|---:|")
        md.extend(scale_md)
        md.append("")
    if grp_md:
        md.append("### Kernel group filter: the sender's CPU per datagram (trunc 128, unpaced; "
                  "tc samples every datagram into group 7 and 1 in 100 into group 8)")
        md.append("")
        md.append("| subscribers | runs | sender CPU µs/datagram (median) | per run | × no subscriber, median of "
                  "same-repetition ratios [95 % CI] | per repetition | samples received | lost (socket drops) |")
        md.append("|---|---:|---:|---|---|---|---|---:|")
        md.extend(grp_md)
        md.append("")
    if mem_md:
        md.append("### Memory per handle (trunc 128 samples queued, then drained)")
        md.append("")
        md.append("| opts.batch | RSS after subscribe, KiB | RSS after draining, KiB | of the process: in huge pages, KiB | "
                  "address space, KiB | "
                  "kernel receive buffer limit | samples queued | kernel memory queued | bytes per queued sample | "
                  "drain calls | lost |")
        md.append("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
        md.extend(mem_md)
        md.append("")
    if instr_md:
        md.extend(instr_md)
        md.append("")
    for name in ("sflow.md",):
        path = os.path.join(outdir, name)
        if os.path.exists(path):
            md.append(open(path).read().rstrip("\n"))
            md.append("")

    with open(os.path.join(outdir, "results.md"), "w") as f:
        f.write("\n".join(md) + "\n")
    print("\n".join(md))
    if plot and (plot_pairs or scale_plot):
        make_plot(plot_pairs, scale_plot, plot)


def deterministic(path, targets):
    """Table and target rows from bench/instructions.sh's output (instructions and system calls
    per sample on a pre-filled queue, drained nonblocking), or [] when it did not run."""
    if not os.path.exists(path):
        return []
    fig = {}
    for line in open(path):
        parts = line.split()
        if len(parts) < 2 or parts[0] not in ("instructions_per_sample", "syscalls_per_sample"):
            continue
        kv = dict(p.split("=", 1) for p in parts[1:] if "=" in p)
        fig[(parts[0], kv["receiver"], int(kv["trunc"]))] = kv
    if not fig:
        return []
    md = ["### Deterministic: user-space instructions and system calls per sample "
          "(bench/instructions.sh: callgrind and strace in the VM, pre-filled queue drained nonblocking)", "",
          "| trunc | receiver | samples | instructions per sample | × minimal | system calls per sample | "
          "× minimal |", "|---:|---|---:|---:|---:|---:|---:|"]
    for trunc in sorted({k[2] for k in fig}):
        base_i = fig.get(("instructions_per_sample", "baseline", trunc))
        base_s = fig.get(("syscalls_per_sample", "baseline", trunc))
        for rx in ("baseline", "psample", "psample-base"):
            i = fig.get(("instructions_per_sample", rx, trunc))
            s = fig.get(("syscalls_per_sample", rx, trunc))
            if not i and not s:
                continue
            # 0 counted means the count did not work (e.g. callgrind's toggle matched no function).
            ri = float(i["value"]) / float(base_i["value"]) if i and base_i and float(base_i["value"]) else float("nan")
            rs = float(s["value"]) / float(base_s["value"]) if s and base_s and float(base_s["value"]) else float("nan")
            md.append(f"| {trunc} | {rx} | {(i or s)['samples']} | {float(i['value']) if i else float('nan'):.1f} | "
                      f"{ri:.3f}× | {float(s['value']) if s else float('nan'):.4f} | {rs:.3f}× |")
            if rx == "psample" and i and base_i:
                valid = ri == ri and float(i["value"]) > 0
                targets.append((f"User-space instructions per sample, trunc {trunc}: at most 1.5× the minimal "
                                "receiver's", f"{float(i['value']):.1f} against {float(base_i['value']):.1f}: "
                                f"{ri:.3f}× (deterministic)", verdict(ri <= 1.5) if valid else
                                "**not measured** (0 instructions counted)"))
            if rx == "psample" and s and base_s and rs == rs:
                targets.append((f"System calls per sample, trunc {trunc}: equal to the minimal receiver's "
                                f"(batch {s.get('batch', '?')})", f"{float(s['value']):.4f} against "
                                f"{float(base_s['value']):.4f}: {rs:.3f}× (counted)", verdict(rs <= 1.0 + 1e-9)))
    return md


def make_plot(pairs, scale, path):
    """An SVG, written by hand (no plotting library needed): each trunc's back-to-back pair
    ratios (dots), their median and its 95 % bootstrap interval, and the 1.05 target line."""
    pairs = {t: xs for t, xs in sorted(pairs.items()) if xs}
    if not pairs:
        return
    w, h, left, top, bottom = 640, 360, 70, 40, 50
    values = [x for xs in pairs.values() for x in xs] + [1.05, 1.0]
    lo_v, hi_v = min(values) * 0.95, max(values) * 1.05

    def y(v):
        return top + (hi_v - v) / (hi_v - lo_v) * (h - top - bottom)

    col = (w - left - 20) / len(pairs)
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" font-family="sans-serif" '
           'font-size="12">', f'<rect width="{w}" height="{h}" fill="white"/>',
           f'<text x="{w / 2}" y="20" text-anchor="middle">CPU per sample, libpsample / minimal receiver: '
           'back-to-back pairs, median and 95 % interval</text>']
    for i in range(6):
        v = lo_v + (hi_v - lo_v) * i / 5
        out.append(f'<line x1="{left}" x2="{w - 20}" y1="{y(v):.1f}" y2="{y(v):.1f}" stroke="#ddd"/>')
        out.append(f'<text x="{left - 6}" y="{y(v) + 4:.1f}" text-anchor="end">{v:.2f}</text>')
    out.append(f'<line x1="{left}" x2="{w - 20}" y1="{y(1.05):.1f}" y2="{y(1.05):.1f}" stroke="grey" '
               'stroke-dasharray="6,4"/>')
    out.append(f'<text x="{w - 22}" y="{y(1.05) - 4:.1f}" text-anchor="end" fill="grey">target 1.05</text>')
    rng = random.Random(SEED)
    for i, (trunc, xs) in enumerate(pairs.items()):
        cx = left + col * (i + 0.5)
        for x in xs:
            out.append(f'<circle cx="{cx - 12 + rng.uniform(-6, 6):.1f}" cy="{y(x):.1f}" r="3" fill="steelblue" '
                       'fill-opacity="0.5"/>')
        m, (lo, hi) = med(xs), bootstrap(xs)
        if lo == lo:
            out.append(f'<line x1="{cx + 12}" x2="{cx + 12}" y1="{y(lo):.1f}" y2="{y(hi):.1f}" stroke="firebrick" '
                       'stroke-width="2"/>')
        out.append(f'<circle cx="{cx + 12}" cy="{y(m):.1f}" r="5" fill="firebrick"/>')
        out.append(f'<text x="{cx}" y="{h - bottom + 20}" text-anchor="middle">trunc {trunc} ({len(xs)} pairs, '
                   f'median {m:.3f})</text>')
    out.append("</svg>")
    os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
    with open(path, "w") as f:
        f.write("\n".join(out) + "\n")


if __name__ == "__main__":
    main()
