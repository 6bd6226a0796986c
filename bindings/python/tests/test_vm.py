"""Real-kernel tests, run in the VM by tests/vm/bindings-tests.sh (tests/vm/vm-run sets
PSAMPLE_IN_VM) inside a network namespace whose loopback egress is sampled by
`action sample rate 1 group 7 trunc 128 [cookie PSAMPLE_TEST_COOKIE]`. Traffic: UDP to 127.0.0.1
only, a bounded number of datagrams; every wait is bounded in time."""

import contextlib
import errno
import os
import select
import signal
import socket
import struct
import time

import pytest

import psample

pytestmark = pytest.mark.skipif(not os.environ.get("PSAMPLE_IN_VM"),
                                reason="needs psample and a sampled loopback: runs in the VM "
                                       "(tests/vm/bindings-tests.sh)")

GROUP, RATE, TRUNC = 7, 1, 128
FRAME_HEADERS = 14 + 20 + 8  # Ethernet, IPv4, UDP


@pytest.fixture
def sink():
    """A bound receiver on 127.0.0.1, so no ICMP port unreachable follows each datagram."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        yield s


def send(sink, payloads):
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as out:
        for p in payloads:
            out.sendto(p, sink.getsockname())


def collect(sub, want, seconds=10.0):
    """Up to `want` packets from a nonblocking subscription, waiting on its fileno()."""
    got, deadline = [], time.monotonic() + seconds
    while len(got) < want and time.monotonic() < deadline:
        select.select([sub], [], [], max(0.0, deadline - time.monotonic()))
        got.extend(sub)  # stops when nothing is queued
    return got


def udp_payload(frame, port):
    """The payload of an Ethernet/IPv4/UDP frame sent to 127.0.0.1:port, or None."""
    if len(frame) < FRAME_HEADERS or frame[12:14] != b"\x08\x00":
        return None
    ip = frame[14:]
    ihl = (ip[0] & 0x0F) * 4
    if ip[0] >> 4 != 4 or ip[9] != socket.IPPROTO_UDP or ip[16:20] != bytes([127, 0, 0, 1]):
        return None
    sport, dport, length = struct.unpack(">HHH", ip[ihl:ihl + 6])
    return ip[ihl + 8:ihl + length] if dport == port else None


def test_samples_of_our_datagrams(sink):
    port = sink.getsockname()[1]
    lo = socket.if_nametoindex("lo")
    cookie = bytes.fromhex(os.environ.get("PSAMPLE_TEST_COOKIE", ""))
    payloads = [b"psample-py-%d-%03d" % (os.getpid(), i) for i in range(20)] + [b"x" * 500]
    with psample.subscribe(groups=[GROUP], nonblocking=True) as sub:
        assert sub.fileno() >= 0
        before = time.time_ns()
        send(sink, payloads)
        pkts = collect(sub, len(payloads))
        st = sub.stats()
    assert sub.closed
    assert [udp_payload(p.data, port)[:30] for p in pkts] == [p[:30] for p in payloads]
    seqs = [p.group_seq for p in pkts]
    assert seqs == list(range(seqs[0], seqs[0] + len(pkts))), "rate 1: consecutive sequence numbers"
    must = (psample.FIELD_OIFINDEX | psample.FIELD_ORIGSIZE | psample.FIELD_SAMPLE_GROUP | psample.FIELD_GROUP_SEQ
            | psample.FIELD_SAMPLE_RATE | psample.FIELD_DATA | psample.FIELD_TIMESTAMP | psample.FIELD_PROTO)
    for p, payload in zip(pkts, payloads):
        assert p.fields & must == must, hex(p.fields)
        assert (p.kind, p.flags, p.group, p.rate, p.effective_rate) == (psample.KIND_SAMPLE, 0, GROUP, RATE, RATE)
        assert (p.oifindex, p.proto, p.nsid, p.sender_portid, p.tunnel) == (lo, 0x0800, -1, 0, None)
        assert p.orig_size == FRAME_HEADERS + len(payload)
        assert len(p.data) == min(p.orig_size, TRUNC)
        assert before - 60e9 < p.timestamp_ns < time.time_ns() + 60e9
        assert p.user_cookie == cookie and bool(p.fields & psample.FIELD_USER_COOKIE) == bool(cookie)
        assert (p.out_tc, p.out_tc_occ, p.latency_ns) == (0, 0, 0)
    assert st.delivered == len(payloads) and st.groups_tracked >= 1 and st.rcvbuf > 0
    assert (st.kernel_drops, st.seq_gaps, st.decode_errors, st.truncated) == (0, 0, 0, 0)


def test_blocking_iteration(sink):
    with psample.subscribe(groups=[GROUP]) as sub:
        send(sink, [b"one", b"two", b"three"])  # sampled while sending: queued before we read
        it = iter(sub)
        got = [next(it) for _ in range(3)]
    assert [udp_payload(p.data, sink.getsockname()[1]) for p in got] == [b"one", b"two", b"three"]


class Alarm(Exception):
    pass


@contextlib.contextmanager
def alarm(seconds):
    def ring(signum, frame):
        raise Alarm
    old = signal.signal(signal.SIGALRM, ring)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)


def test_a_signal_handler_ends_a_blocking_wait():
    # Group 99 gets nothing: the wait ends only through the handler's exception, which must
    # come out of recv() although recv() retries on EINTR.
    with psample.subscribe(groups=[99]) as sub, pytest.raises(Alarm):
        with alarm(0.3):
            sub.recv()


def test_nonblocking_recv_raises_blocking_io_error():
    with psample.subscribe(groups=[99], nonblocking=True) as sub:
        with pytest.raises(BlockingIOError) as info:
            sub.recv()
        assert info.value.errno == errno.EAGAIN
        assert list(sub) == []


def test_list_groups():
    groups = {g.group: g for g in psample.list_groups()}
    assert GROUP in groups and groups[GROUP].refcount >= 1
