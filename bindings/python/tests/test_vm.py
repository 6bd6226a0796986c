"""Real-kernel tests, run in the VM by tests/vm/bindings-tests.sh (tests/vm/vm-run sets
PSAMPLE_IN_VM) inside a network namespace whose loopback egress is sampled by
`action sample rate 1 group 7 trunc 128 [cookie PSAMPLE_TEST_COOKIE]`. Traffic: UDP to 127.0.0.1
only, a bounded number of datagrams; every wait is bounded in time."""

import asyncio
import contextlib
import errno
import os
import select
import signal
import socket
import struct
import threading
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
        got.extend(sub)  # a new iteration each time: it stops when nothing is queued
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
        pairs = sub.group_stats()
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
        assert len(cookie) in (0, 16) and p.ovs_cookie() is None  # a tc cookie of 16 bytes is not OVS's
        assert (p.out_tc, p.out_tc_occ, p.latency_ns) == (0, 0, 0)
    assert st.delivered == len(payloads) and st.groups_tracked >= 1 and st.rcvbuf > 0
    assert (st.kernel_drops, st.seq_gaps, st.decode_errors, st.truncated) == (0, 0, 0, 0)
    # Every sample was of our group in this namespace: one pair, carrying them all.
    assert pairs == [psample.GroupStats(delivered=len(payloads), seq_lost=0, nsid=-1, group=GROUP,
                                        last_seq=pkts[-1].group_seq)]


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


def test_nonblocking_iteration_ends_for_good_and_a_new_loop_continues(sink):
    port = sink.getsockname()[1]
    with psample.subscribe(groups=[GROUP], nonblocking=True) as sub:
        it = iter(sub)
        assert list(it) == []
        send(sink, [b"late"])
        assert select.select([sub], [], [], 10)[0], "no sample within 10 s"
        assert list(it) == [], "an iterator that stopped must stay stopped"
        assert [udp_payload(p.data, port) for p in collect(sub, 1)] == [b"late"]


def run(coro, seconds=30.0):
    """Runs a scenario in a new event loop, bounded in time."""
    return asyncio.run(asyncio.wait_for(coro, seconds))


def test_asyncio_stream_of_our_datagrams(sink):
    port = sink.getsockname()[1]
    payloads = [b"psample-async-%d-%03d" % (os.getpid(), i) for i in range(20)]

    async def scenario():
        async with psample.subscribe_async(groups=[GROUP]) as sub:
            # Sent from the loop once the stream is waiting in it.
            asyncio.get_running_loop().call_later(0.2, send, sink, payloads)
            got = []
            async for pkt in sub.stream():
                got.append(pkt)
                if len(got) == len(payloads):
                    break
            return got, sub.stats()

    got, st = run(scenario())
    assert [udp_payload(p.data, port) for p in got] == payloads
    assert all(p.group == GROUP and p.kind == psample.Kind.SAMPLE for p in got)
    assert st.delivered == len(payloads) and (st.kernel_drops, st.seq_gaps) == (0, 0)


def test_asyncio_cancel_leaves_the_subscription_usable(sink, capsys):
    port = sink.getsockname()[1]

    async def scenario():
        loop = asyncio.get_running_loop()
        with psample.subscribe_async(groups=[GROUP]) as sub:
            latencies = []
            for _ in range(3):
                task = asyncio.ensure_future(sub.recv())
                await asyncio.sleep(0.2)
                assert not task.done(), "nothing was sent: recv() must still be waiting"
                start = time.monotonic()
                task.cancel()
                await asyncio.gather(task, return_exceptions=True)
                latencies.append(time.monotonic() - start)
                assert task.cancelled()
                assert not loop.remove_reader(sub.fileno()), "the cancelled recv() left its reader"
            send(sink, [b"after-cancel"])
            return latencies, await sub.recv()

    latencies, pkts = run(scenario())
    with capsys.disabled():
        print(f"\nasyncio recv() cancel latency, ms: {', '.join(f'{s * 1e3:.2f}' for s in latencies)}")
    assert max(latencies) < 0.1
    assert [udp_payload(p.data, port) for p in pkts] == [b"after-cancel"]


def test_asyncio_close_from_another_task_ends_the_stream():
    async def scenario():
        sub = psample.subscribe_async(groups=[99])  # nothing arrives: only close() ends the stream

        async def consume():
            return [pkt async for pkt in sub.stream()]

        task = asyncio.ensure_future(consume())
        await asyncio.sleep(0.2)
        assert not task.done()
        start = time.monotonic()
        sub.close()
        got = await task
        return got, time.monotonic() - start, sub.closed

    got, latency, closed = run(scenario())
    assert got == [] and closed and latency < 0.1


def ms(seconds):
    return ", ".join(f"{s * 1e3:.2f}" for s in seconds)


def parked_recv(sub):
    """Starts a thread blocked in sub.recv(); its outcome dict gets "error" and "end" (monotonic)."""
    outcome = {}

    def receive():
        try:
            sub.recv()
        except BaseException as e:  # noqa: B902 (reported to the test)
            outcome["error"] = e
        outcome["end"] = time.monotonic()
    thread = threading.Thread(target=receive, daemon=True)
    thread.start()
    time.sleep(0.1)
    assert thread.is_alive()
    return thread, outcome


def test_wakeup_ends_a_parked_recv_and_an_asyncio_recv(capsys):
    with psample.subscribe(groups=[99]) as sub:  # group 99 gets nothing: only wake-ups end a wait
        blocking = []
        for _ in range(5):
            thread, outcome = parked_recv(sub)
            start = time.monotonic()
            sub.wakeup()
            thread.join(5)
            assert isinstance(outcome.get("error"), psample.WakeupError), outcome
            blocking.append(outcome["end"] - start)
        sub.wakeup()  # before the receive starts
        with pytest.raises(psample.WakeupError):
            sub.recv()

    async def scenario():
        latencies = []
        with psample.subscribe_async(groups=[99]) as sub:
            for _ in range(5):
                task = asyncio.ensure_future(sub.recv())
                await asyncio.sleep(0.1)
                assert not task.done()
                start = time.monotonic()
                threading.Thread(target=sub.wakeup).start()
                with pytest.raises(psample.WakeupError):
                    await task
                latencies.append(time.monotonic() - start)
        return latencies

    in_loop = run(scenario())
    with capsys.disabled():
        print(f"\npython wakeup() -> parked blocking recv() raised WakeupError, ms: {ms(blocking)}")
        print(f"python wakeup() from a thread -> asyncio recv() raised WakeupError, ms: {ms(in_loop)}")
    assert max(blocking) < 1 and max(in_loop) < 1


def test_wakeup_comes_before_queued_samples_which_stay(sink):
    port = sink.getsockname()[1]
    with psample.subscribe(groups=[GROUP]) as sub:
        send(sink, [b"queued-1", b"queued-2"])
        assert select.select([sub], [], [], 10)[0], "no sample within 10 s"
        sub.wakeup()
        with pytest.raises(psample.WakeupError):  # before what is queued (pcap_breakloop)
            sub.recv()
        got = []
        while len(got) < 2:
            got += sub.recv()
        assert [udp_payload(p.data, port) for p in got] == [b"queued-1", b"queued-2"]
        st = sub.stats()
        assert st.delivered == 2 and (st.kernel_drops, st.seq_gaps) == (0, 0)


def test_close_from_another_thread_ends_a_blocking_recv(capsys):
    timings = []
    for _ in range(3):
        sub = psample.subscribe(groups=[99])
        thread, outcome = parked_recv(sub)
        start = time.monotonic()
        sub.close()
        returned = time.monotonic()
        thread.join(5)
        assert isinstance(outcome.get("error"), ValueError), outcome
        assert outcome["end"] <= returned, "close() returned before the receive left the library"
        assert sub.closed and sub._h is None
        with pytest.raises(ValueError):
            sub.recv()
        sub.close()  # again: no-op
        timings.append((outcome["end"] - start, returned - start))
    with capsys.disabled():
        print("\npython close() during a blocking recv() in another thread, ms (recv raised, close returned): "
              + "; ".join(f"{a * 1e3:.2f}, {b * 1e3:.2f}" for a, b in timings))
    assert max(b for _, b in timings) < 1
