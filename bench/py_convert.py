#!/usr/bin/env python3
"""CPU per record of the Python binding's receive path without the kernel: a blocking
Subscription's _receive() on a full default batch (16) of records that psample_decode() filled
from a canned sample message (trunc 128 and 1500 bytes of data), with a stand-in psample_recv
that returns 16 at once. That is the per-record conversion (ctypes array -> Packet, one bytes copy
of the data) that bench/recv_py.py pays per sample on top of the C receiver.

    PSAMPLE_LIBRARY=target/debug/libpsample.so bench/py_convert.py [SRC ...]

SRC is a directory holding a psample package (default: this tree's bindings/python/src); with
several, e.g. an older tree's `git archive` next to this one, they are timed in turns, so every
tree sees the same machine load. Prints the best of 5 runs of 100,000 records per tree and size.
"""

import ctypes
import importlib
import os
import struct
import sys
import timeit

RECORDS = 100_000
BATCH = 16


def load(src):
    """The psample package under src, imported afresh."""
    for name in [m for m in sys.modules if m == "psample" or m.startswith("psample.")]:
        del sys.modules[name]
    sys.path.insert(0, src)
    try:
        return importlib.import_module("psample")
    finally:
        sys.path.remove(src)


def nla(typ, payload=b""):
    return struct.pack("=HH", 4 + len(payload), typ) + payload + b"\0" * (-len(payload) % 4)


def sample_message(trunc):
    """A psample sample as the kernel sends it for tc's sample action on lo (no tunnel, no cookie)."""
    data = (bytes(range(256)) * (trunc // 256 + 1))[:trunc]
    attrs = [nla(0, struct.pack("=H", 1)), nla(1, struct.pack("=H", 1)), nla(2, struct.pack("=I", 1514)),
             nla(3, struct.pack("=I", 7)), nla(4, struct.pack("=I", 42)), nla(5, struct.pack("=I", 10)),
             nla(6, data), nla(13, struct.pack("=Q", 1_700_000_000_000_000_000)), nla(14, struct.pack("=H", 0x0800))]
    body = struct.pack("=BBH", 0, 1, 0) + b"".join(attrs)
    return struct.pack("=IHHII", 16 + len(body), 0x1D, 0, 0, 0) + body


class FilledRecv:
    """Stands in for libpsample's psample_recv: the receive array is already full."""

    def psample_recv(self, handle, buf, n, size):
        return n


def receiver(mod, message):
    """A Subscription of `mod` whose _receive() converts BATCH decoded records per call; `mod`
    then receives through FilledRecv (its _receive() looks _lib up at call time)."""
    lib = mod._lib()
    sub = mod.Subscription(ctypes.c_void_p(1), BATCH)  # a stand-in handle, never passed to lib
    for i in range(BATCH):
        rc = lib.psample_decode(message, len(message), ctypes.byref(sub._buf[i]), ctypes.sizeof(mod._Packet))
        if rc < 0:
            sys.exit(f"py_convert.py: psample_decode: {rc}")
    filled = FilledRecv()
    mod._lib = lambda: filled
    return sub


def main():
    if not os.environ.get("PSAMPLE_LIBRARY"):
        sys.exit("py_convert.py: set PSAMPLE_LIBRARY to a built libpsample.so")
    here = os.path.dirname(os.path.abspath(__file__))
    srcs = sys.argv[1:] or [os.path.join(here, "..", "bindings", "python", "src")]
    for trunc in (128, 1500):
        message = sample_message(trunc)
        subs = [(src, receiver(load(src), message)) for src in srcs]
        reference = None
        for src, sub in subs:
            first = sub._receive()
            if len(first) != BATCH or len(first[0].data) != trunc or first[0].group != 7:
                sys.exit(f"py_convert.py: {src}: unexpected records {first[:1]}")
            reference = reference or repr(first[0])
            if repr(first[0]) != reference:
                sys.exit(f"py_convert.py: {src} converts differently:\n{first[0]!r}\n{reference}")
        best = {src: float("inf") for src in srcs}
        for _ in range(5):
            for src, sub in subs:
                best[src] = min(best[src], timeit.timeit(sub._receive, number=RECORDS // BATCH))
        for src, sub in subs:
            sub._h = None  # the stand-in handle: nothing for the library to close
            ns = best[src] / (RECORDS // BATCH * BATCH) * 1e9
            print(f"trunc {trunc}: {ns:6.0f} ns/record  {src}")


if __name__ == "__main__":
    main()
