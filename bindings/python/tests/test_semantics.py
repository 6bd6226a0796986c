"""Iteration and asyncio semantics on the host, against a scripted stand-in for libpsample whose
descriptor is a pipe: readable exactly while records are queued. The real-kernel versions of
these tests are in test_vm.py."""

import asyncio
import ctypes
import errno
import gc
import os
import struct
import threading
import time

import pytest

import psample


class ScriptedLib:
    """psample_recv hands out the queued groups (up to n per call), -EAGAIN when none, and
    -ECANCELED first while a wake-up is pending, as libpsample does (pcap_breakloop)."""

    def __init__(self):
        self.rd, self.wr = os.pipe()
        os.set_blocking(self.rd, False)
        self.queued, self.recv_calls, self.closed, self.wakeups = [], 0, False, 0

    def push(self, *groups):
        self.queued += groups
        os.write(self.wr, b"!")

    def psample_poll_fd(self, handle):
        return self.rd

    def psample_recv(self, handle, buf, n, size):
        self.recv_calls += 1
        if self.wakeups:  # one ECANCELED per wake-up, before what is queued
            self.wakeups -= 1
            self._drain_when_idle()
            return -errno.ECANCELED
        if not self.queued:
            return -errno.EAGAIN
        k = min(n, len(self.queued))
        for i in range(k):
            buf[i] = psample._Packet(fields=psample.FIELD_SAMPLE_GROUP, group=self.queued.pop(0))
        self._drain_when_idle()
        return k

    def _drain_when_idle(self):
        """The descriptor stays readable while records are queued or a wake-up is pending."""
        while not self.queued and not self.wakeups:
            try:
                os.read(self.rd, 4096)
            except BlockingIOError:
                break

    def psample_wakeup(self, handle):
        self.wakeups += 1
        os.write(self.wr, b"!")  # as the library's in-band token: the descriptor turns readable
        return 0

    def psample_close(self, handle):
        self.closed = True

    def psample_strerror(self, rc):
        return os.strerror(-rc).encode()

    def release(self):
        os.close(self.rd)
        os.close(self.wr)


@pytest.fixture
def lib(monkeypatch):
    scripted = ScriptedLib()
    monkeypatch.setattr(psample, "_lib", lambda: scripted)
    yield scripted
    # Subscriptions the test left behind (in reference cycles such as an exception's traceback,
    # or held by a function it put on the stand-in) are closed now, against the stand-in:
    # later, the real library would get their fake handles.
    vars(scripted).pop("psample_recv", None)
    gc.collect()
    scripted.release()


def groups(pkts):
    return [p.group for p in pkts]


def test_nonblocking_iteration_stops_for_good_and_a_new_loop_continues(lib):
    sub = psample.Subscription(ctypes.c_void_p(1), 4)
    lib.push(1, 2, 3, 4, 5, 6)
    it = iter(sub)
    assert groups([next(it), next(it)]) == [1, 2]
    lib.push(7)
    rest = list(it)  # what is queued, then the end
    assert groups(rest) == [3, 4, 5, 6, 7]
    lib.push(8)
    with pytest.raises(StopIteration):  # an ended iterator stays ended, even with 8 queued now
        next(it)
    assert groups(iter(sub)) == [8]  # a new loop gets it
    assert list(sub) == []


def test_records_a_loop_left_go_to_the_next_loop_or_recv(lib):
    sub = psample.Subscription(ctypes.c_void_p(1), 8)
    lib.push(1, 2, 3, 4)
    for pkt in sub:
        if pkt.group == 2:
            break
    assert groups(sub.recv()) == [3, 4]
    with pytest.raises(BlockingIOError):
        sub.recv()
    sub.close()
    assert lib.closed and sub.closed
    with pytest.raises(ValueError):
        next(iter(sub))


def run(coro, seconds=10):
    return asyncio.run(asyncio.wait_for(coro, seconds))


def test_async_recv_waits_in_the_loop(lib):
    async def scenario():
        sub = psample.AsyncSubscription(ctypes.c_void_p(1), 16)
        loop = asyncio.get_running_loop()
        loop.call_later(0.05, lib.push, 5, 6)
        calls_before = lib.recv_calls
        got = await sub.recv()
        # One try found nothing, the reader woke us, one more try got both: no busy loop.
        assert lib.recv_calls - calls_before == 2
        assert not loop.remove_reader(sub.fileno()), "the reader is removed after the wait"
        return got
    assert groups(run(scenario())) == [5, 6]


def test_cancelled_recv_removes_its_reader_and_leaves_the_subscription_usable(lib):
    async def scenario():
        loop = asyncio.get_running_loop()
        sub = psample.AsyncSubscription(ctypes.c_void_p(1), 16)
        task = asyncio.ensure_future(sub.recv())
        await asyncio.sleep(0.05)
        assert not task.done()
        start = time.monotonic()
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        assert task.cancelled() and time.monotonic() - start < 0.1
        assert not loop.remove_reader(sub.fileno()), "cancel left the reader registered"
        lib.push(9)
        return await sub.recv()
    assert groups(run(scenario())) == [9]


def test_stream_keeps_the_rest_of_a_batch_for_later(lib):
    async def scenario():
        sub = psample.AsyncSubscription(ctypes.c_void_p(1), 16)
        lib.push(1, 2, 3)
        first = []
        async for pkt in sub.stream():
            first.append(pkt.group)
            if len(first) == 1:
                break
        return first, groups(await sub.recv())
    assert run(scenario()) == ([1], [2, 3])


def test_close_wakes_the_receiver_and_ends_the_stream(lib):
    async def scenario():
        loop = asyncio.get_running_loop()
        sub = psample.AsyncSubscription(ctypes.c_void_p(1), 16)
        fd = sub.fileno()
        received = []

        async def consume():
            async for pkt in sub:
                received.append(pkt.group)
        consumer = asyncio.ensure_future(consume())
        loop.call_later(0.02, lib.push, 4)
        loop.call_later(0.1, sub.close)
        await consumer  # ends by itself: no exception
        assert received == [4] and sub.closed and not loop.remove_reader(fd)

        sub2 = psample.AsyncSubscription(ctypes.c_void_p(1), 16)
        pending = asyncio.ensure_future(sub2.recv())
        await asyncio.sleep(0.02)
        sub2.close()
        with pytest.raises(ValueError):
            await pending
        with pytest.raises(ValueError):
            async for _ in sub2.stream():
                pass
    run(scenario())


def test_one_receiver_at_a_time(lib):
    async def scenario():
        sub = psample.AsyncSubscription(ctypes.c_void_p(1), 16)
        first = asyncio.ensure_future(sub.recv())
        await asyncio.sleep(0.02)
        with pytest.raises(RuntimeError):
            await sub.recv()
        lib.push(3)
        return await first
    assert groups(run(scenario())) == [3]


def test_ovs_cookie():
    assert psample.decode(_sample_with_cookie(bytes.fromhex("0000002a00000007"))).ovs_cookie() == (42, 7)
    cookie = psample.decode(_sample_with_cookie(bytes.fromhex("0102030405060708"))).ovs_cookie()
    assert cookie is not None and (cookie.domain, cookie.point) == (0x01020304, 0x05060708)
    for other in (b"", b"\x01\x02\x03\x04", bytes(16)):
        assert psample.decode(_sample_with_cookie(other)).ovs_cookie() is None


def _sample_with_cookie(cookie):
    attrs = struct.pack("=HHI", 8, 3, 7)  # SAMPLE_GROUP 7
    if cookie:
        attrs += struct.pack("=HH", 4 + len(cookie), 15) + cookie + b"\0" * (-len(cookie) % 4)
    body = struct.pack("=BBH", 0, 1, 0) + attrs
    return struct.pack("=IHHII", 16 + len(body), 0x1D, 0, 0, 0) + body


def test_wakeup_ends_one_receive_and_an_iteration(lib):
    sub = psample.Subscription(ctypes.c_void_p(1), 4)
    sub.wakeup()
    with pytest.raises(psample.WakeupError) as info:
        sub.recv()
    assert isinstance(info.value, InterruptedError) and info.value.errno == errno.ECANCELED
    with pytest.raises(BlockingIOError):  # one wake-up, one receive
        sub.recv()
    lib.push(1, 2)
    sub.wakeup()
    assert groups(sub) == []  # the wake-up ends the loop before what is queued (pcap_breakloop)
    assert lib.wakeups == 0, "the loop ended on the wake-up, not on EAGAIN"
    assert groups(sub) == [1, 2]  # which stays for the next loop


def test_wakeup_from_another_thread_ends_a_waiting_recv_and_a_stream(lib):
    async def scenario():
        loop = asyncio.get_running_loop()
        sub = psample.AsyncSubscription(ctypes.c_void_p(1), 16)
        pending = asyncio.ensure_future(sub.recv())
        await asyncio.sleep(0.05)
        assert not pending.done()
        start = time.monotonic()
        threading.Thread(target=sub.wakeup).start()
        with pytest.raises(psample.WakeupError):
            await pending
        assert time.monotonic() - start < 1
        assert not loop.remove_reader(sub.fileno()), "the reader is removed after the wake-up"

        received = []

        async def consume():
            async for pkt in sub.stream():
                received.append(pkt.group)
        consumer = asyncio.ensure_future(consume())
        loop.call_later(0.02, lib.push, 4)
        loop.call_later(0.1, lambda: threading.Thread(target=sub.wakeup).start())
        await consumer  # ends by itself on the wake-up
        assert received == [4] and not sub.closed
        lib.push(5)
        return await sub.recv()  # still usable
    assert groups(run(scenario())) == [5]


def test_a_wakeup_before_the_reader_is_registered_is_not_lost(lib):
    async def scenario():
        sub = psample.AsyncSubscription(ctypes.c_void_p(1), 16)
        real_recv = lib.psample_recv

        def recv_then_wake(*args):
            rc = real_recv(*args)
            if rc == -errno.EAGAIN and lib.recv_calls == 1:
                sub.wakeup()  # after the receive found nothing, before the waiter exists
            return rc
        lib.psample_recv = recv_then_wake
        with pytest.raises(psample.WakeupError):
            await sub.recv()
        sub.close()
    run(scenario(), seconds=2)
