#!/usr/bin/env python3
"""A minimal sFlow collector for the VM tests: receives UDP datagrams on 127.0.0.1:PORT and writes
each one to a pcap file (LINKTYPE_RAW, with an IPv4/UDP header made up for it) so tshark can
decode exactly what was received. Runs until SIGTERM/SIGINT or MAX_SECONDS, then drains what is
queued and exits; prints "collector: N datagrams".

usage: sflow-collector.py PORT PCAP READY_FILE [MAX_SECONDS]
"""
import select
import signal
import socket
import struct
import sys
import time

LINKTYPE_RAW = 101
port, pcap_path, ready_path = int(sys.argv[1]), sys.argv[2], sys.argv[3]
max_seconds = float(sys.argv[4]) if len(sys.argv) > 4 else 120.0

stop = False


def on_signal(_sig, _frame):
    global stop
    stop = True


signal.signal(signal.SIGTERM, on_signal)
signal.signal(signal.SIGINT, on_signal)

sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
sock.bind(("127.0.0.1", port))
out = open(pcap_path, "wb")
out.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, LINKTYPE_RAW))
with open(ready_path, "w") as ready:
    ready.write("ready\n")

loopback = socket.inet_aton("127.0.0.1")
count = 0


def record(data, sport):
    global count
    udp = struct.pack("!HHHH", sport, port, 8 + len(data), 0)
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(udp) + len(data), count & 0xFFFF, 0, 64, 17, 0,
                     loopback, loopback)
    frame = ip + udp + data
    now = time.time()
    out.write(struct.pack("<IIII", int(now), int((now % 1) * 1e6), len(frame), len(frame)))
    out.write(frame)
    count += 1


deadline = time.monotonic() + max_seconds
while not stop and time.monotonic() < deadline:
    try:
        readable, _, _ = select.select([sock], [], [], 0.2)
    except InterruptedError:
        continue
    if readable:
        data, peer = sock.recvfrom(65535)
        record(data, peer[1])
sock.setblocking(False)
while True:  # what was queued before the signal
    try:
        data, peer = sock.recvfrom(65535)
    except BlockingIOError:
        break
    record(data, peer[1])
out.close()
print(f"collector: {count} datagrams")
