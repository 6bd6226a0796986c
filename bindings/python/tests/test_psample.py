"""Host tests: no psample module here, so these see what a user without it sees."""

import ctypes
import errno
import ipaddress
import os
import pathlib
import re
import signal
import struct
import threading
import time

import pytest

import psample

CARGO_TOML = pathlib.Path(__file__).resolve().parents[3] / "Cargo.toml"


def test_version():
    assert re.fullmatch(r"\d+\.\d+\.\d+", psample.version())
    if CARGO_TOML.is_file():  # in the source tree
        want = re.search(r'^version = "(.*)"', CARGO_TOML.read_text(), re.M).group(1)
        assert psample.version() == want


def test_struct_sizes_match_the_header():
    # PSAMPLE_OPTS_SIZE_V1 covers the fields through rcvbuf; the rest are psample.h's current sizes.
    assert ctypes.sizeof(psample._Opts) == 40
    assert ctypes.sizeof(psample._Packet) == 200  # PSAMPLE_PACKET_SIZE_V1 (192), then seq_lost
    assert psample._Packet.seq_lost.offset == 192
    assert ctypes.sizeof(psample._Stats) == 104  # PSAMPLE_STATS_SIZE_V1 (96), then joined
    assert psample._Stats.joined.offset == 96
    assert ctypes.sizeof(psample._GroupInfo) == 16
    assert ctypes.sizeof(psample._GroupStats) == 32  # PSAMPLE_GROUP_STATS_SIZE_V1
    assert psample._Packet.tunnel.offset == 104 and ctypes.sizeof(psample._Tunnel) == 88


@pytest.mark.skipif(os.path.exists("/sys/module/psample"), reason="psample is loaded: cannot test its absence")
def test_without_psample_raises_file_not_found():
    with pytest.raises(FileNotFoundError) as info:
        psample.subscribe()
    assert info.value.errno == errno.ENOENT
    assert "modprobe psample" in info.value.strerror and "modprobe psample" in str(info.value)
    with pytest.raises(FileNotFoundError):
        psample.subscribe(groups=[1, 2], nonblocking=True, flags=psample.SUB_CONFIG_EVENTS, batch=4)
    with pytest.raises(FileNotFoundError):
        psample.list_groups()


@pytest.mark.parametrize("kwargs, err", [
    ({"flags": 1 << 30}, errno.EINVAL),
    ({"batch": psample.MAX_BATCH + 1}, errno.EINVAL),
    ({"rcvbuf": psample.MAX_RCVBUF + 1}, errno.EINVAL),
    ({"groups": range(psample.MAX_GROUPS + 1)}, errno.EINVAL),
    ({"flags": psample.SUB_NO_SAMPLES}, errno.EINVAL),
    ({"netns_fd": -1}, errno.EBADF),
])
def test_invalid_options(kwargs, err):
    with pytest.raises(OSError) as info:
        psample.subscribe(**kwargs)
    assert info.value.errno == err, info.value


def test_netns_fd_that_is_not_a_namespace():
    with open(os.devnull) as f, pytest.raises(OSError) as info:
        psample.subscribe(netns_fd=f)
    assert info.value.errno == errno.EBADF
    with pytest.raises(OSError) as info:
        psample.list_groups(netns_fd=-5)
    assert info.value.errno == errno.EBADF


@pytest.mark.parametrize("kwargs", [{"groups": [-1]}, {"groups": [1 << 32]}, {"rcvbuf": -1}, {"batch": -1},
                                    {"flags": 1 << 32}])
def test_out_of_range_values_are_not_wrapped(kwargs):
    with pytest.raises(ValueError):
        psample.subscribe(**kwargs)


def nla(typ, payload=b""):
    return struct.pack("=HH", 4 + len(payload), typ) + payload + b"\0" * (-len(payload) % 4)


def genl_msg(cmd, *attrs, msg_type=0x1D):
    """A generic netlink message; psample's family id is dynamic, decode() takes any id above
    nlctrl's 0x10."""
    body = struct.pack("=BBH", cmd, 1, 0) + b"".join(attrs)
    return struct.pack("=IHHII", 16 + len(body), msg_type, 0, 0, 0) + body


def test_decode_every_field():
    frame = b"\x00\x01\x02\x03 a sampled frame"
    cookie = bytes.fromhex("deadbeef01020304")
    tunnel = b"".join([
        nla(0, struct.pack(">Q", 0x123456)), nla(12, ipaddress.IPv6Address("2001:db8::1").packed),
        nla(13, ipaddress.IPv6Address("2001:db8::2").packed), nla(3, b"\x10"), nla(4, b"\x40"), nla(6),
        nla(9, struct.pack(">H", 4242)), nla(10, struct.pack(">H", 4789)), nla(15, b"\x01\x02\x03\x04"),
    ])
    msg = genl_msg(
        0, nla(0, struct.pack("=H", 3)), nla(1, struct.pack("=H", 4)), nla(2, struct.pack("=I", 1514)),
        nla(3, struct.pack("=I", 7)), nla(4, struct.pack("=I", 42)), nla(5, struct.pack("=I", 0xFFFFFFFF // 100)),
        nla(6, frame), nla(8, tunnel), nla(10, struct.pack("=H", 5)), nla(11, struct.pack("=Q", 4096)),
        nla(12, struct.pack("=Q", 900)), nla(13, struct.pack("=Q", 1_700_000_000_000_000_000)),
        nla(14, struct.pack("=H", 0x0800)), nla(15, cookie), nla(16))
    p = psample.decode(msg)
    assert p.fields == sum(1 << a for a in (0, 1, 2, 3, 4, 5, 6, 8, 10, 11, 12, 13, 14, 15, 16))
    assert (p.kind, p.flags, p.iifindex, p.oifindex, p.orig_size, p.group, p.group_seq) == (
        psample.KIND_SAMPLE, 0, 3, 4, 1514, 7, 42)
    assert (p.rate, p.effective_rate, p.out_tc, p.out_tc_occ, p.latency_ns, p.timestamp_ns, p.proto) == (
        0xFFFFFFFF // 100, 100, 5, 4096, 900, 1_700_000_000_000_000_000, 0x0800)
    assert (p.nsid, p.sender_portid, p.group_refcount) == (-1, 0, 0)
    assert p.data == frame and p.user_cookie == cookie
    t = p.tunnel
    assert t.fields == sum(1 << a for a in (0, 3, 4, 6, 9, 10, 12, 13, 15))
    assert (t.id, t.tos, t.ttl, t.tp_src, t.tp_dst) == (0x123456, 0x10, 64, 4242, 4789)
    assert t.ipv4_src is None and t.ipv4_dst is None
    assert (t.ipv6_src, t.ipv6_dst) == (ipaddress.IPv6Address("2001:db8::1"), ipaddress.IPv6Address("2001:db8::2"))
    assert t.erspan_opts == b"\x01\x02\x03\x04" and t.geneve_opts == b""


def test_decode_group_event_and_ipv4_tunnel():
    ev = psample.decode(genl_msg(2, nla(3, struct.pack("=I", 9)), nla(7, struct.pack("=I", 1))))
    assert (ev.kind, ev.group, ev.group_refcount, ev.data, ev.user_cookie, ev.tunnel) == (
        psample.KIND_GROUP_CREATED, 9, 1, b"", b"", None)
    p = psample.decode(genl_msg(0, nla(8, nla(1, bytes([127, 0, 0, 1])) + nla(2, bytes([127, 0, 0, 2])))))
    assert (p.tunnel.ipv4_src, p.tunnel.ipv4_dst) == (ipaddress.IPv4Address("127.0.0.1"), ipaddress.IPv4Address("127.0.0.2"))
    assert p.effective_rate == 0  # no rate at all


@pytest.mark.parametrize("msg, err", [
    pytest.param(b"", errno.EBADMSG, id="empty"),
    pytest.param(genl_msg(0)[:10], errno.EBADMSG, id="short header"),
    pytest.param(genl_msg(0, nla(6, b"abcdefgh"))[:-4], errno.EBADMSG, id="cut message"),
    pytest.param(genl_msg(0, nla(3, b"\x07\x00")), errno.EBADMSG, id="bad attribute size"),
    pytest.param(genl_msg(1, msg_type=0x10), errno.ENOMSG, id="nlctrl message"),
    pytest.param(genl_msg(99), errno.ENOMSG, id="unknown command"),
])
def test_decode_errors(msg, err):
    with pytest.raises(OSError) as info:
        psample.decode(msg)
    assert info.value.errno == err


def test_closed_subscription():
    sub = psample.Subscription(None, 1)  # as after close()
    sub.close()
    assert sub.closed
    for call in (sub.recv, sub.stats, sub.fileno, lambda: next(iter(sub))):
        with pytest.raises(ValueError):
            call()


def _waiting_for_the_family(**kwargs):
    # SUB_WAIT_FAMILY opens without psample loaded; group 4242 receives nothing here.
    return psample.subscribe(groups=[4242], flags=psample.SUB_WAIT_FAMILY, **kwargs)


def test_wakeup_and_group_stats_with_the_library():
    with _waiting_for_the_family(nonblocking=True) as sub:
        assert sub.group_stats() == []
        with pytest.raises(BlockingIOError):
            sub.recv()
        sub.wakeup()
        sub.wakeup()
        for _ in range(2):
            with pytest.raises(psample.WakeupError) as info:
                sub.recv()
            assert info.value.errno == errno.ECANCELED
        with pytest.raises(BlockingIOError):
            sub.recv()
    with pytest.raises(ValueError):
        sub.group_stats()
    with pytest.raises(ValueError):
        sub.wakeup()


def test_wakeup_from_another_thread_ends_a_blocking_loop():
    with _waiting_for_the_family() as sub:
        timer = threading.Timer(0.1, sub.wakeup)
        timer.start()
        start = time.monotonic()
        assert list(sub) == []  # blocked in psample_recv until the wake-up
        assert 0.05 < time.monotonic() - start < 5
        timer.join()


def _blocking_recv_in_a_thread(sub):
    """Starts a thread blocked in sub.recv(); returns it and a dict that gets, when the receive
    ends, what it raised ("error") and when ("end", time.monotonic())."""
    outcome = {}

    def receive():
        try:
            outcome["result"] = sub.recv()
        except BaseException as e:  # noqa: B902 (reported to the test)
            outcome["error"] = e
        outcome["end"] = time.monotonic()
    thread = threading.Thread(target=receive, daemon=True)
    thread.start()
    time.sleep(0.1)  # into psample_recv's wait: nothing arrives on this handle
    assert thread.is_alive(), outcome
    return thread, outcome


def test_wakeup_ends_a_parked_recv_and_one_sent_before_the_recv(capsys):
    with _waiting_for_the_family() as sub:
        latencies = []
        for _ in range(5):
            thread, outcome = _blocking_recv_in_a_thread(sub)
            start = time.monotonic()
            sub.wakeup()
            thread.join(5)
            assert isinstance(outcome.get("error"), psample.WakeupError), outcome
            latencies.append(outcome["end"] - start)
        # Sent before the receive starts: the receive ends at once, without waiting.
        sub.wakeup()
        start = time.monotonic()
        with pytest.raises(psample.WakeupError):
            sub.recv()
        before = time.monotonic() - start
    with capsys.disabled():
        print(f"\npython wakeup() -> parked recv() raised, ms: {', '.join(f'{s * 1e3:.2f}' for s in latencies)}; "
              f"wake-up sent before recv(): {before * 1e3:.2f}")
    assert max(latencies) < 1 and before < 1


def test_close_from_another_thread_ends_a_blocking_recv(capsys):
    sub = _waiting_for_the_family()
    thread, outcome = _blocking_recv_in_a_thread(sub)
    start = time.monotonic()
    sub.close()
    returned = time.monotonic()
    thread.join(5)
    assert not thread.is_alive() and isinstance(outcome.get("error"), ValueError), outcome
    assert "closed" in str(outcome["error"])
    # close() returned after the receive had left the library, and freed the handle.
    assert outcome["end"] <= returned and sub.closed and sub._h is None
    with capsys.disabled():
        print(f"\npython close() during a blocking recv() in another thread: recv() raised ValueError after "
              f"{(outcome['end'] - start) * 1e3:.2f} ms, close() returned after {(returned - start) * 1e3:.2f} ms")
    assert returned - start < 1
    # Every receive after close(), from any thread, raises the same error; close() again is a no-op.
    thread, outcome = None, {}
    for call in (sub.recv, sub.wakeup, sub.stats, sub.fileno):
        with pytest.raises(ValueError):
            call()
    sub.close()


def test_one_receiving_thread_at_a_time_and_stats_during_a_receive():
    # The library allows one receiving thread per handle: a second one is refused, not raced.
    sub = _waiting_for_the_family()
    thread, outcome = _blocking_recv_in_a_thread(sub)
    with pytest.raises(RuntimeError):
        sub.recv()
    with pytest.raises(RuntimeError):
        sub.group_stats()
    assert sub.stats().delivered == 0  # stats() may run meanwhile
    sub.close()
    thread.join(5)
    assert isinstance(outcome.get("error"), ValueError), outcome


def test_close_from_a_signal_handler_of_the_receiving_thread():
    # The handler runs in this thread while it receives: close() cannot wait for the receive
    # (it is the caller's own), so the receive frees the handle as it leaves.
    sub = _waiting_for_the_family()
    old = signal.signal(signal.SIGALRM, lambda signum, frame: sub.close())
    signal.setitimer(signal.ITIMER_REAL, 0.1)
    try:
        start = time.monotonic()
        with pytest.raises(ValueError):
            sub.recv()
        assert time.monotonic() - start < 2
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)
    assert sub.closed and sub._h is None
