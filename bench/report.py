#!/usr/bin/env python3
"""Summarizes build/bench/raw.csv (one row per run, written by bench/in-vm.sh) into
results.md and results.csv next to it, and draws the offered-load plot.

    report.py OUTDIR PLOT.png

CPU ratios: each libpsample run is paired with the baseline run next to it in the same
repetition (bench/in-vm.sh runs them back to back); the headline is the median of those per-pair
ratios, which is less sensitive to the host's load drifting during the session than the ratio of
the two medians (also shown).
"""
import csv
import os
import statistics
import sys

RX_LABEL = {
    "baseline": "baseline, kernel default buffer",
    "baseline-8m": "baseline, 8 MiB + NO_ENOBUFS",
    "baseline-8m-meta": "baseline, 8 MiB + NO_ENOBUFS + msg_name/msg_control",
    "psample": "libpsample, library defaults",
    "psample-8m": "libpsample, opts.rcvbuf 8 MiB",
}
RX_ORDER = ["baseline", "psample", "baseline-8m", "psample-8m"]
PAIRS = (("psample", "baseline"), ("psample-8m", "baseline-8m"))
INTS = ("trunc", "len", "rate", "rep", "sent", "sampled", "received", "lost", "kernel_drops", "seq_gaps",
        "enobufs", "rcvbuf", "cpu_ns", "user_ns", "calls", "rx_wall_ns", "send_ns", "send_rate")


def load(path):
    with open(path) as f:
        rows = [r for r in csv.DictReader(f) if r["phase"] in ("main", "sweep", "diag")]
    for r in rows:
        for k in INTS:
            r[k] = int(r[k])
        r["send_cpu_ns"] = int(r.get("send_cpu_ns") or 0)
        n = r["received"]
        r["cpu_per"] = r["cpu_ns"] / n if n else float("nan")
        r["user_per"] = r["user_ns"] / n if n else float("nan")
        r["loss_pct"] = 100.0 * r["lost"] / r["sampled"] if r["sampled"] else 0.0
        r["per_call"] = n / r["calls"] if r["calls"] else 0.0
        # The sender's CPU per datagram: the same work whatever the receiver, so it tells how fast the
        # VM ran during this run (host contention stretches every guest CPU time alike).
        r["send_per"] = r["send_cpu_ns"] / r["sent"] if r["sent"] and r["send_cpu_ns"] else float("nan")
        r["norm"] = r["cpu_per"] / r["send_per"] if r["send_per"] == r["send_per"] else float("nan")
    return rows


def med(values):
    return statistics.median(values) if values else float("nan")


def by_rep(runs):
    return sorted(runs, key=lambda r: r["rep"])


def summarize(runs):
    return {
        "runs": len(runs),
        "sent": med([r["sent"] for r in runs]),
        "sampled": med([r["sampled"] for r in runs]),
        "received": med([r["received"] for r in runs]),
        "lost": med([r["lost"] for r in runs]),
        "lost_all": "/".join(str(r["lost"]) for r in by_rep(runs)),
        "lost_max": max(r["lost"] for r in runs),
        "loss_pct": med([r["loss_pct"] for r in runs]),
        "cpu_per": med([r["cpu_per"] for r in runs]),
        "user_per": med([r["user_per"] for r in runs]),
        "cpu_all": "/".join(f"{r['cpu_per'] / 1000:.1f}" for r in by_rep(runs)),
        "per_call": med([r["per_call"] for r in runs]),
        "send_rate": med([r["send_rate"] for r in runs]),
        "send_per": med([r["send_per"] for r in runs]),
        "rcvbuf": med([r["rcvbuf"] for r in runs]),
    }


def paired(rows, ours, base, key="cpu_per"):
    """CPU per sample ours/baseline for each repetition that has both (back-to-back runs)."""
    by = {(r["rx"], r["rep"]): r for r in rows}
    return [by[(ours, rep)][key] / by[(base, rep)][key]
            for rep in sorted({r["rep"] for r in rows}) if (ours, rep) in by and (base, rep) in by]


def fmt_ratios(xs):
    return ", ".join(f"{x:.2f}" for x in xs)


def main():
    outdir, plot = sys.argv[1], sys.argv[2]
    rows = load(os.path.join(outdir, "raw.csv"))
    main_rows = [r for r in rows if r["phase"] == "main"]
    sweep_rows = [r for r in rows if r["phase"] == "sweep"]
    diag_rows = [r for r in rows if r["phase"] == "diag"]
    truncs = sorted({r["trunc"] for r in main_rows})
    md, csv_rows = [], []

    def csv_row(phase, trunc, length, rate, rx, s):
        csv_rows.append({"phase": phase, "trunc": trunc, "len": length, "rate": rate, "rx": rx, "runs": s["runs"],
                         "sent": s["sent"], "sampled": s["sampled"], "received": s["received"], "lost": s["lost"],
                         "lost_per_run": s["lost_all"], "loss_pct": round(s["loss_pct"], 3),
                         "cpu_ns_per_sample": round(s["cpu_per"]), "user_ns_per_sample": round(s["user_per"]),
                         "samples_per_call": round(s["per_call"], 2), "send_rate": s["send_rate"],
                         "rcvbuf": s["rcvbuf"]})

    sane = all(r["received"] <= r["sampled"] and r["sampled"] == r["sent"] for r in rows)
    exact = all(r["lost"] == r["kernel_drops"] for r in rows)
    reps = max([r["rep"] for r in main_rows] or [0])
    md.append(f"{len(rows)} runs. Sanity, every run: received <= sampled and sampled (tc) == sent: "
              f"**{'yes' if sane else 'NO'}**; lost (sampled - received) == the socket's kernel drop counter "
              f"(SO_MEMINFO): **{'yes' if exact else 'NO'}**.")
    md.append("")

    # Targets first.
    md.append("### Against the targets")
    md.append("")
    md.append("| trunc | libpsample defaults: lost per run | libpsample 8 MiB: lost per run | "
              "CPU ratio, defaults vs baseline kernel default (median of pairs) | "
              "CPU ratio, 8 MiB vs 8 MiB (median of pairs) |")
    md.append("|---:|---|---|---:|---:|")
    for trunc in truncs:
        sub = [r for r in main_rows if r["trunc"] == trunc]
        lost = {rx: "/".join(str(r["lost"]) for r in by_rep([r for r in sub if r["rx"] == rx])) for rx in RX_ORDER}
        cells = []
        for ours, base in PAIRS:
            per = paired(sub, ours, base)
            cells.append(f"**{med(per):.2f}×** ({fmt_ratios(per)})")
        md.append(f"| {trunc} | {lost['psample']} | {lost['psample-8m']} | {cells[0]} | {cells[1]} |")
    md.append("")
    md.append("Targets: 0 samples lost with library defaults; CPU per received sample at most 1.10× the "
              "minimal receiver's.")
    md.append("")

    for trunc in truncs:
        sub = [r for r in main_rows if r["trunc"] == trunc]
        length = sub[0]["len"]
        md.append(f"### trunc {trunc}, {length}-byte UDP payloads, unpaced sender, medians of {reps} runs")
        md.append("")
        md.append("| receiver | sent | sampled (tc) | received | lost (median) | lost per run | rcvbuf (kernel) "
                  "| CPU ns/sample | of which user | CPU µs/sample per run | samples/call | sender dgram/s | sender CPU ns/dgram |")
        md.append("|---|---:|---:|---:|---:|---|---:|---:|---:|---|---:|---:|---:|")
        stats = {}
        for rx in RX_ORDER:
            runs = [r for r in sub if r["rx"] == rx]
            if not runs:
                continue
            s = stats[rx] = summarize(runs)
            md.append(f"| {RX_LABEL[rx]} | {s['sent']:.0f} | {s['sampled']:.0f} | {s['received']:.0f} | "
                      f"{s['lost']:.0f} | {s['lost_all']} | {s['rcvbuf'] / 2**20:.2f} MiB | {s['cpu_per']:.0f} | "
                      f"{s['user_per']:.0f} | {s['cpu_all']} | {s['per_call']:.1f} | {s['send_rate']:.0f} | "
                      f"{s['send_per']:.0f} |")
            csv_row("main", trunc, length, 0, rx, s)
        md.append("")
        for ours, base in PAIRS:
            if ours in stats and base in stats:
                per = paired(sub, ours, base)
                norm = paired(sub, ours, base, "norm")
                md.append(f"- CPU per sample, {RX_LABEL[ours]} / {RX_LABEL[base]}: median of per-pair ratios "
                          f"**{med(per):.2f}×** ({fmt_ratios(per)}); ratio of the medians "
                          f"{stats[ours]['cpu_per'] / stats[base]['cpu_per']:.2f}×; each run's CPU per sample "
                          f"divided by its sender's CPU per datagram first: {med(norm):.2f}× ({fmt_ratios(norm)})")
        md.append("")

    # Sweep; its unpaced point is the main trunc-128 case.
    unpaced = [dict(r, rate=0) for r in main_rows if r["trunc"] == 128 and r["rx"] in ("baseline", "psample")]
    points = {}
    if sweep_rows or unpaced:
        md.append("### Offered-load sweep (trunc 128, 100-byte payloads)")
        md.append("")
        md.append("| offered | receiver | sender dgram/s | sent | lost (median) | lost per run | loss % | "
                  "CPU ns/sample | CPU µs/sample per run | samples/call | CPU ratio (median of pairs) |")
        md.append("|---|---|---:|---:|---:|---|---:|---:|---|---:|---:|")
        all_sweep = sweep_rows + unpaced
        for rate in sorted({r["rate"] for r in all_sweep}, key=lambda x: (x == 0, x)):
            at = [r for r in all_sweep if r["rate"] == rate]
            per = paired(at, "psample", "baseline")
            for rx in ("baseline", "psample"):
                runs = [r for r in at if r["rx"] == rx]
                if not runs:
                    continue
                s = summarize(runs)
                points.setdefault(rx, []).append((s["send_rate"], s["loss_pct"], s["cpu_per"] / 1000,
                                                  [(r["send_rate"], r["cpu_per"] / 1000) for r in runs]))
                ratio = f"{med(per):.2f}× ({fmt_ratios(per)})" if rx == "psample" and per else ""
                md.append(f"| {'unpaced' if rate == 0 else f'{rate}/s'} | {RX_LABEL[rx]} | {s['send_rate']:.0f} | "
                          f"{s['sent']:.0f} | {s['lost']:.0f} | {s['lost_all']} | {s['loss_pct']:.2f} | "
                          f"{s['cpu_per']:.0f} | {s['cpu_all']} | {s['per_call']:.1f} | {ratio} |")
                if rate:
                    csv_row("sweep", 128, 100, rate, rx, s)
        md.append("")
        make_plot(points, plot)

    if diag_rows:
        md.append("### Cost analysis: the same socket, with and without what the library asks for "
                  "(trunc 128, unpaced)")
        md.append("")
        md.append("| receiver | runs | lost per run | CPU ns/sample | of which user | CPU µs/sample per run | "
                  "samples/call |")
        md.append("|---|---:|---|---:|---:|---|---:|")
        for rx in ("baseline-8m", "baseline-8m-meta", "psample-8m"):
            runs = [r for r in diag_rows if r["rx"] == rx]
            if runs:
                s = summarize(runs)
                md.append(f"| {RX_LABEL[rx]} | {s['runs']} | {s['lost_all']} | {s['cpu_per']:.0f} | "
                          f"{s['user_per']:.0f} | {s['cpu_all']} | {s['per_call']:.1f} |")
                csv_row("diag", 128, 100, 0, rx, s)
        md.append("")
        for a, b in (("baseline-8m-meta", "baseline-8m"), ("psample-8m", "baseline-8m-meta"),
                     ("psample-8m", "baseline-8m")):
            per = paired(diag_rows, a, b)
            if per:
                md.append(f"- {RX_LABEL[a]} / {RX_LABEL[b]}: median of pairs {med(per):.2f}× ({fmt_ratios(per)})")
        md.append("")

    # Every back-to-back pair of the session with the same socket settings (8 MiB, NO_ENOBUFS).
    pool, npool = [], []
    for trunc in truncs:
        pool += paired([r for r in main_rows if r["trunc"] == trunc], "psample-8m", "baseline-8m")
        npool += paired([r for r in main_rows if r["trunc"] == trunc], "psample-8m", "baseline-8m", "norm")
    pool += paired(diag_rows, "psample-8m", "baseline-8m")
    npool += paired(diag_rows, "psample-8m", "baseline-8m", "norm")
    if pool:
        md.append(f"All {len(pool)} back-to-back pairs with identical socket settings (libpsample 8 MiB / "
                  f"baseline 8 MiB + NO_ENOBUFS, main and analysis runs): median **{med(pool):.2f}×**, range "
                  f"{min(pool):.2f}–{max(pool):.2f}" +
                  (f"; normalized by the sender's CPU per datagram: median {med(npool):.2f}×, range "
                   f"{min(npool):.2f}–{max(npool):.2f}." if npool and npool[0] == npool[0] else "."))
        md.append("")

    for name, where in (("userspace.txt", "host-native"), ("userspace-vm.txt", "inside the TCG VM")):
        us = os.path.join(outdir, name)
        if not os.path.exists(us):
            continue
        per = {}
        for line in open(us):
            parts = line.split()
            if len(parts) > 10 and parts[0] == "userspace":
                per.setdefault(parts[2], []).append((float(parts[6]), float(parts[10])))
        if per:
            md.append(f"### Per-sample user-space work alone, {where} (bench/userspace_cost.c, median of runs)")
            md.append("")
            md.append("| data bytes | baseline walk ns/sample | libpsample decode + convert ns/sample | difference |")
            md.append("|---:|---:|---:|---:|")
            for dlen, v in per.items():
                b, lib = med([x[0] for x in v]), med([x[1] for x in v])
                md.append(f"| {dlen} | {b:.1f} | {lib:.1f} | +{lib - b:.1f} |")
            md.append("")

    with open(os.path.join(outdir, "results.md"), "w") as f:
        f.write("\n".join(md) + "\n")
    with open(os.path.join(outdir, "results.csv"), "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=list(csv_rows[0].keys()))
        w.writeheader()
        w.writerows(csv_rows)
    print("\n".join(md))


def make_plot(points, path):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (a1, a2) = plt.subplots(1, 2, figsize=(11, 4.2))
    style = {"baseline": ("tab:orange", "s", RX_LABEL["baseline"]),
             "psample": ("tab:blue", "o", RX_LABEL["psample"])}
    top = 0.0
    for rx, pts in points.items():
        pts.sort()
        color, marker, label = style[rx]
        x = [p[0] for p in pts]
        a1.plot(x, [p[1] for p in pts], marker=marker, color=color, label=label)
        a2.plot(x, [p[2] for p in pts], marker=marker, color=color, label=label + " (median)")
        runs = [run for p in pts for run in p[3]]
        a2.scatter([r[0] for r in runs], [r[1] for r in runs], color=color, alpha=0.3, s=14)
        top = max([top] + [p[1] for p in pts])
    a1.set_xlabel("offered load (datagrams/s, every one sampled)")
    a1.set_ylabel("samples lost (%)")
    a1.set_title("Loss (median of runs)")
    a1.set_ylim(-0.05 * max(top, 1.0), 1.1 * max(top, 1.0))
    a2.set_xlabel("offered load (datagrams/s, every one sampled)")
    a2.set_ylabel("receiver CPU per received sample (µs)")
    a2.set_title("CPU per sample (dots: single runs)")
    a2.set_ylim(bottom=0)
    for a in (a1, a2):
        a.set_xlim(left=0)
        a.grid(True, alpha=0.3)
        a.legend(fontsize=8)
    fig.suptitle("psample receive, tc sample rate 1 trunc 128 on loopback; QEMU TCG VM, 2 vCPUs, "
                 "Debian kernel 6.12 (rightmost points: unpaced sender)", fontsize=9)
    fig.tight_layout()
    os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
    fig.savefig(path, dpi=110)


if __name__ == "__main__":
    main()
