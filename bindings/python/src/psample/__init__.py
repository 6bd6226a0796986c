"""Receive Linux psample packet samples through libpsample, with ctypes (no compiler needed).

With asyncio (the socket waits in the event loop, through `loop.add_reader`)::

    import asyncio, psample

    async def main() -> None:
        async with psample.subscribe_async(groups=[7]) as sub:
            async for pkt in sub.stream():
                print(pkt.group, pkt.group_seq, pkt.oifindex, len(pkt.data), pkt.effective_rate)

    asyncio.run(main())

Or blocking, in a thread of its own::

    with psample.subscribe(groups=[7]) as sub:
        for pkt in sub:
            print(pkt.group, pkt.group_seq, len(pkt.data))

Every record is copied into a `Packet` (its `data` is `bytes`), so packets stay valid after the
next receive and after `close()`. Errors are `OSError(errno, psample_strerror text)`: for
example `FileNotFoundError` without psample in the kernel, `PermissionError` without
CAP_NET_ADMIN. A receive ended by `wakeup()` raises `WakeupError` (an `InterruptedError` whose
errno is ECANCELED); any method of a closed subscription raises `ValueError`, and so does a
`recv()` that `close()` ended from another thread. The library is `$PSAMPLE_LIBRARY` when set,
else the one a wheel bundles in this package, else `libpsample.so.0` as the dynamic loader finds
it, else what `ctypes.util.find_library("psample")` finds.
"""

from __future__ import annotations

import asyncio
import collections
import ctypes
import ctypes.util
import errno as _errno
import functools
import os
import struct
import threading
from types import TracebackType
from typing import IO, AsyncIterator, Deque, Dict, Iterable, Iterator, List, NamedTuple, Optional, Tuple, Type, Union

from . import _abi
# The constants (enum classes, and their members by header name) and the C structures come from
# psample.h through bindings/gen.py: see _abi.py.
from ._abi import *  # noqa: F401,F403
from ._abi import GroupInfo, GroupStats, Stats, Tunnel  # noqa: F401 (public records)
from ._abi import _GroupInfo, _GroupStats, _Opts, _Packet, _Stats, _Tunnel  # noqa: F401 (the tests read their layouts)
from ._abi import DEFAULT_BATCH, DEFAULT_RCVBUF, SUB_NETNS_FD, SUB_NONBLOCK  # noqa: F401 (DEFAULT_*: public)

__all__ = [
    "AsyncSubscription", "GroupInfo", "GroupStats", "OvsCookie", "Packet", "Stats", "Subscription", "Tunnel",
    "WakeupError", "decode", "list_groups", "subscribe", "subscribe_async", "version",
]

_u32 = ctypes.c_uint32
# A network namespace: its descriptor, or an object with fileno() (an open file of /run/netns/NAME).
NetnsFd = Union[int, IO[bytes], IO[str]]


@functools.lru_cache(maxsize=None)
def _lib() -> ctypes.CDLL:
    """Loads libpsample once, on first use (so `import psample` works without it)."""
    path = os.environ.get("PSAMPLE_LIBRARY")
    # A wheel bundles the library next to this file (packaging/wheel.sh): it comes first.
    bundled = os.path.join(os.path.dirname(os.path.abspath(__file__)), "libpsample.so.0")
    if path:
        lib = ctypes.CDLL(path)
    elif os.path.exists(bundled):
        lib = ctypes.CDLL(bundled)
    else:
        try:
            lib = ctypes.CDLL("libpsample.so.0")  # the SONAME: this binding's ABI
        except OSError:
            found = ctypes.util.find_library("psample")
            if not found:
                # Not FileNotFoundError: that one means psample is missing from the kernel.
                raise OSError("libpsample.so.0 not found: install libpsample, "
                              "or set PSAMPLE_LIBRARY to its path") from None
            lib = ctypes.CDLL(found)
    c_int, size_t, vp = ctypes.c_int, ctypes.c_size_t, ctypes.c_void_p
    for name, restype, argtypes in [
        ("psample_subscribe", c_int, [ctypes.POINTER(vp), ctypes.POINTER(_Opts)]),
        ("psample_recv", c_int, [vp, ctypes.POINTER(_Packet), size_t, size_t]),
        ("psample_fd", c_int, [vp]),
        ("psample_close", None, [vp]),
        ("psample_stats", c_int, [vp, ctypes.POINTER(_Stats), size_t]),
        ("psample_group_stats", c_int, [vp, ctypes.POINTER(_GroupStats), size_t, size_t, ctypes.POINTER(size_t)]),
        ("psample_wakeup", c_int, [vp]),
        ("psample_decode", c_int, [ctypes.c_char_p, size_t, ctypes.POINTER(_Packet), size_t]),
        ("psample_list_groups", c_int, [ctypes.POINTER(_Opts), ctypes.POINTER(_GroupInfo), size_t, size_t,
                                        ctypes.POINTER(size_t)]),
        ("psample_effective_rate", _u32, [ctypes.POINTER(_Packet)]),
        ("psample_strerror", ctypes.c_char_p, [c_int]),
        ("psample_version", ctypes.c_char_p, []),
    ]:
        fn = getattr(lib, name)
        fn.restype, fn.argtypes = restype, argtypes
    return lib


def _strerror(rc: int) -> str:
    text: bytes = _lib().psample_strerror(rc)
    return text.decode()


def _error(rc: int) -> OSError:
    """OSError for a negative errno; its constructor picks the subclass (FileNotFoundError, ...)."""
    return OSError(-rc, _strerror(rc))


class WakeupError(InterruptedError):
    """A receive ended by `wakeup()` (the library's -ECANCELED): `errno` is errno.ECANCELED.
    An InterruptedError, so `except InterruptedError` catches it; Python does not retry it."""


def _wakeup_error() -> WakeupError:
    return WakeupError(_errno.ECANCELED, _strerror(-_errno.ECANCELED))


def _closed_error() -> ValueError:
    return ValueError("I/O operation on a closed psample subscription")


def version() -> str:
    """The library's version, "MAJOR.MINOR.PATCH"."""
    text: bytes = _lib().psample_version()
    return text.decode()


def _u32_arg(name: str, value: int) -> int:
    # ctypes would silently wrap negative or oversized values.
    if not 0 <= value <= 0xFFFFFFFF:
        raise ValueError(f"{name} {value} is not a 32-bit unsigned value")
    return value


def _opts(groups: Optional[Iterable[int]] = None, nonblocking: bool = False, rcvbuf: int = 0, flags: int = 0,
          netns_fd: Optional[NetnsFd] = None, batch: int = 0) -> Tuple[_Opts, "ctypes.Array[ctypes.c_uint32]"]:
    """A _Opts and the group array it points to (keep both alive during the call)."""
    group_list = [_u32_arg("group", g) for g in (groups or ())]
    array = (_u32 * len(group_list))(*group_list)
    opts = _Opts(size=ctypes.sizeof(_Opts), flags=_u32_arg("flags", flags), rcvbuf=_u32_arg("rcvbuf", rcvbuf),
                 groups=array if group_list else None, n_groups=len(group_list), batch=_u32_arg("batch", batch))
    if nonblocking:
        opts.flags |= SUB_NONBLOCK
    if netns_fd is not None:
        fd = netns_fd if isinstance(netns_fd, int) else netns_fd.fileno()
        if not -0x80000000 <= fd <= 0x7FFFFFFF:  # what int32_t cannot carry; the library checks the rest
            raise OSError(_errno.EBADF, _strerror(-_errno.EBADF))
        opts.flags |= SUB_NETNS_FD
        opts.netns_fd = fd
    return opts, array


class OvsCookie(NamedTuple):
    """The 8-byte user cookie of Open vSwitch's psample action: two big-endian 32-bit ids."""

    domain: int  # observation domain id
    point: int  # observation point id


class Packet(_abi.Packet):
    __doc__ = _abi.Packet.__doc__
    __slots__ = ()

    @property
    def effective_rate(self) -> int:
        """The sampling rate as "1 in N", whether the producer sent N or a probability (OVS)."""
        rate: int = _lib().psample_effective_rate(ctypes.byref(_Packet(fields=self.fields, rate=self.rate)))
        return rate

    def ovs_cookie(self) -> Optional[OvsCookie]:
        """The Open vSwitch observation ids of `user_cookie`, or None unless the cookie is 8 bytes
        (OVS sends htonl(obs_domain_id) then htonl(obs_point_id); other producers, such as a tc
        action cookie of another length, are not OVS's)."""
        if len(self.user_cookie) != 8:
            return None
        domain, point = struct.unpack(">II", self.user_cookie)
        return OvsCookie(domain, point)


def _packet(c: _Packet) -> Packet:
    return _abi.packet_from_c(c, Packet)


_packet_from_buffer = _abi.packet_from_buffer
_PACKET_SIZE = ctypes.sizeof(_Packet)


class _Handle:
    """What both subscription kinds share: the handle, its receive array, the records received
    but not yet handed out, stats, fileno and close.

    close() may come from any thread while another one waits in psample_recv (ctypes lets go of
    the GIL there), so every call into the C handle is counted, per thread, under _lock: close()
    wakes the calls inside (psample_wakeup, once per call), and the handle is freed by close()
    or by the last call to leave, whichever is later. No lock is held during a C call."""

    def __init__(self, handle: Optional[ctypes.c_void_p], batch: int):
        self._h = handle
        self._buf = (_Packet * batch)()
        self._pending: Deque[Packet] = collections.deque()
        # Reentrant: a signal handler may call wakeup() or close() in a thread that holds it.
        self._lock = threading.RLock()
        self._left = threading.Condition(self._lock)  # notified when the handle is freed
        self._inside: Dict[int, int] = {}  # thread id: its calls into the C handle
        self._receiver: Optional[int] = None  # the thread in psample_recv (or group_stats), if any
        self._closing = False

    def _handle(self) -> ctypes.c_void_p:
        if self._closing or not self._h:
            raise _closed_error()
        return self._h

    def _enter(self, receive: bool = False) -> ctypes.c_void_p:
        """The handle, counted as in use by this thread until _leave(); ValueError once closing.
        receive: a call that the library allows one thread at a time (psample_recv,
        psample_group_stats): RuntimeError while another one runs."""
        with self._lock:
            handle = self._handle()
            me = threading.get_ident()
            if receive:
                if self._receiver is not None:
                    raise RuntimeError("another receive is running on this psample subscription: "
                                       "receive in one thread at a time")
                self._receiver = me
            self._inside[me] = self._inside.get(me, 0) + 1
            return handle

    def _leave(self, receive: bool = False) -> None:
        with self._lock:
            me = threading.get_ident()
            if receive:
                self._receiver = None
            calls = self._inside.pop(me) - 1
            if calls:
                self._inside[me] = calls
            elif self._closing and not self._inside:
                self._free()

    def _free(self) -> None:
        """Frees the handle (once); called with _lock held and no call inside it."""
        if self._h:
            _lib().psample_close(self._h)
            self._h = None
        self._left.notify_all()

    def _receive(self) -> List[Packet]:
        """The records held back from an earlier receive, else one psample_recv() call (blocking
        as the handle was opened). Retries EINTR (PEP 475): a handler that raises
        (KeyboardInterrupt) still ends the wait, since Python runs handlers between these calls."""
        if self._pending:
            held = list(self._pending)
            self._pending.clear()
            return held
        while True:
            handle = self._enter(receive=True)
            try:
                rc: int = _lib().psample_recv(handle, self._buf, len(self._buf), _PACKET_SIZE)
                if rc >= 0:
                    # Copied before _leave(): the records point into the handle's buffers, which
                    # a close() in another thread frees once no call is inside. Read from the
                    # array at each record's offset: indexing it would build a ctypes object per record.
                    return [_packet_from_buffer(self._buf, i * _PACKET_SIZE, Packet) for i in range(rc)]
            finally:
                self._leave(receive=True)
            if rc != -_errno.EINTR:
                break
        if rc == -_errno.ECANCELED:
            # close() wakes the receives it finds inside the handle: that is no wakeup().
            raise _closed_error() if self._closing else _wakeup_error()
        raise _error(rc)

    def stats(self) -> Stats:
        """The subscription's loss accounting (delivered, kernel_drops, seq_gaps, ...)."""
        st = _Stats()
        handle = self._enter()
        try:
            rc: int = _lib().psample_stats(handle, ctypes.byref(st), ctypes.sizeof(st))
        finally:
            self._leave()
        if rc < 0:
            raise _error(rc)
        return _abi.stats_from_c(st, Stats)

    def group_stats(self) -> List[GroupStats]:
        """What this subscription received per (namespace, group): samples delivered, samples
        missed by the group's sequence numbers (seq_lost), and the last sequence number. Call it
        from the receiving thread, between receives (during another thread's recv():
        RuntimeError)."""
        n = 16
        while True:
            buf = (_GroupStats * n)()
            total = ctypes.c_size_t()
            handle = self._enter(receive=True)
            try:
                rc: int = _lib().psample_group_stats(handle, buf, n, ctypes.sizeof(_GroupStats), ctypes.byref(total))
            finally:
                self._leave(receive=True)
            if rc < 0:
                raise _error(rc)
            if total.value <= n:
                return [_abi.group_stats_from_c(g, GroupStats) for g in buf[:rc]]
            n = total.value

    def wakeup(self) -> None:
        """Wakes the receiver (psample_wakeup): the next receive, or the one waiting now, raises
        WakeupError (errno ECANCELED) instead of receiving, once per call; an iteration or
        stream() ends instead. Records already queued stay queued for the receives after it (a
        receive already inside the C call may return its batch first). Any thread or signal
        handler may call it; after close(), ValueError."""
        handle = self._enter()
        try:
            rc: int = _lib().psample_wakeup(handle)
        finally:
            self._leave()
        if rc < 0:
            raise _error(rc)

    def fileno(self) -> int:
        """The descriptor to wait on with select/poll/selectors (psample_poll_fd): readable when
        records are queued or a wakeup() is pending. Owned by the subscription."""
        handle = self._enter()
        try:
            fd: int = _lib().psample_poll_fd(handle)
        finally:
            self._leave()
        return fd

    def close(self) -> None:
        """Closes the subscription, from any thread; again: no-op. Received packets stay valid.
        A recv() blocked in another thread is woken and raises ValueError, as every receive
        after close() does; close() returns once it has left the library, with the handle
        freed. (From a signal handler of the thread that is receiving, or when the library
        cannot deliver the wake-up (psample_wakeup's -EPERM on an unprivileged events-only
        handle), close() returns at once and the receive frees the handle as it leaves.)"""
        with self._lock:
            if self._closing or not self._h:
                return
            self._closing = True
            self._pending.clear()
            if not self._inside:
                self._free()
                return
            woken = True
            for _ in range(sum(self._inside.values())):  # one wake-up per call inside
                woken = _lib().psample_wakeup(self._h) >= 0 and woken
            if not woken or threading.get_ident() in self._inside:
                # A wake-up the library could not deliver (-EPERM: an unprivileged events-only
                # handle) or our own thread's receive: the receive frees the handle as it leaves.
                return
            while self._h:
                self._left.wait()

    @property
    def closed(self) -> bool:
        """True from the start of close() on."""
        return self._closing or not self._h

    def __del__(self) -> None:
        try:
            self.close()
        except Exception:  # interpreter shutdown: the library may be gone already
            pass


class Subscription(_Handle):
    """A psample subscription: a context manager, and an iterable of Packets.

    Iterating a blocking subscription waits for packets until wakeup() (from another thread or
    a signal handler) ends the loop. Each `iter()` of a nonblocking one yields what is queued and
    then stops for good (as iterators must): wait on `fileno()` (select, selectors), then start
    a new `for` loop. Records a loop did not consume are kept for the next loop or recv().
    Receive in one thread at a time (a recv() while another thread's runs raises RuntimeError);
    any thread may call wakeup(), stats() or close(), also during that wait. For asyncio, use
    subscribe_async().
    """

    def recv(self) -> List[Packet]:
        """At least one record (up to the batch size). Blocks unless nonblocking, then raises
        BlockingIOError when nothing is queued. WakeupError after wakeup(); ValueError after
        close(), also when close() came from another thread during the wait."""
        return self._receive()

    def __iter__(self) -> Iterator[Packet]:
        while True:
            if not self._pending:
                try:
                    self._pending.extend(self._receive())
                except BlockingIOError:
                    return
                except WakeupError:  # wakeup(): the loop ends
                    return
            yield self._pending.popleft()

    def __enter__(self) -> Subscription:
        return self

    def __exit__(self, exc_type: Optional[Type[BaseException]], exc: Optional[BaseException],
                 tb: Optional[TracebackType]) -> None:
        self.close()


class AsyncSubscription(_Handle):
    """A psample subscription for asyncio: `await recv()`, or `async for pkt in stream()`.

    The handle is nonblocking; a receive that finds nothing queued waits in the running event
    loop (`loop.add_reader` on `fileno()`, psample_poll_fd), so no thread blocks. Cancelling the
    waiting task removes the reader and leaves the subscription usable. `close()` (on the loop's
    thread; from another thread, `loop.call_soon_threadsafe(sub.close)`) wakes a waiting recv()
    with ValueError and ends a stream() cleanly. wakeup(), from any thread or a signal handler,
    makes a waiting (or the next) recv() raise WakeupError and ends a stream(): the library's
    wake-up makes the descriptor readable. One receiver at a time: a second concurrent recv()
    raises RuntimeError.
    """

    def __init__(self, handle: Optional[ctypes.c_void_p], batch: int):
        super().__init__(handle, batch)
        # The receive waiting in an event loop: its loop, descriptor and wake-up future.
        self._waiter: Optional[Tuple[asyncio.AbstractEventLoop, int, asyncio.Future[None]]] = None

    async def recv(self) -> List[Packet]:
        """At least one record (up to the batch size), waiting in the event loop for them.
        WakeupError after wakeup(); ValueError after close()."""
        if self._waiter is not None:
            raise RuntimeError("recv() is already waiting on this psample subscription")
        while True:
            try:
                return self._receive()
            except BlockingIOError:
                pass
            # A wakeup() from now on leaves the descriptor readable: the wait cannot miss it.
            await self._readable()

    async def stream(self) -> AsyncIterator[Packet]:
        """Packets one at a time, until close(). Records of a batch that a cancelled or stopped
        loop did not consume are kept for the next stream() or recv()."""
        self._handle()  # closed before the first packet: ValueError, as recv()
        while True:
            if not self._pending:
                try:
                    self._pending.extend(await self.recv())
                except ValueError:
                    if self.closed:
                        return
                    raise
                except WakeupError:  # wakeup(): the stream ends
                    return
            yield self._pending.popleft()

    def __aiter__(self) -> AsyncIterator[Packet]:
        return self.stream()

    async def _readable(self) -> None:
        """Waits until the descriptor is readable (records queued, or a wakeup() pending), or
        close() ends the wait."""
        loop = asyncio.get_running_loop()
        fd = self.fileno()
        ready: asyncio.Future[None] = loop.create_future()
        loop.add_reader(fd, _set_ready, ready)
        self._waiter = (loop, fd, ready)
        try:
            await ready
        finally:
            # Cancelled, woken, or closed: the reader goes (close() removed it already).
            if self._waiter is not None and self._waiter[2] is ready:
                self._waiter = None
                loop.remove_reader(fd)

    def close(self) -> None:
        """Closes the subscription (again: no-op); a receive waiting on it raises ValueError."""
        waiter, self._waiter = self._waiter, None
        if waiter is not None:
            loop, fd, ready = waiter
            loop.remove_reader(fd)  # before the descriptor closes and its number can be reused
            if not ready.done():
                ready.set_exception(ValueError("psample subscription closed while receiving"))
        super().close()

    async def __aenter__(self) -> AsyncSubscription:
        return self

    async def __aexit__(self, exc_type: Optional[Type[BaseException]], exc: Optional[BaseException],
                        tb: Optional[TracebackType]) -> None:
        self.close()

    def __enter__(self) -> AsyncSubscription:
        return self

    def __exit__(self, exc_type: Optional[Type[BaseException]], exc: Optional[BaseException],
                 tb: Optional[TracebackType]) -> None:
        self.close()


def _set_ready(ready: asyncio.Future[None]) -> None:
    if not ready.done():
        ready.set_result(None)


def _open(groups: Optional[Iterable[int]], nonblocking: bool, rcvbuf: int, flags: int,
          netns_fd: Optional[NetnsFd], batch: int) -> Tuple[ctypes.c_void_p, int]:
    opts, _array = _opts(groups, nonblocking, rcvbuf, flags, netns_fd, batch)
    handle = ctypes.c_void_p()
    rc: int = _lib().psample_subscribe(ctypes.byref(handle), ctypes.byref(opts))
    if rc < 0:
        raise _error(rc)
    # Room for the most one receive can return: the handle's batch (past MAX_BATCH the library has
    # already refused).
    return handle, batch or DEFAULT_BATCH


def subscribe(groups: Optional[Iterable[int]] = None, nonblocking: bool = False, rcvbuf: int = 0, flags: int = 0,
              netns_fd: Optional[NetnsFd] = None, batch: int = 0) -> Subscription:
    """Subscribes to psample samples.

    groups: only these groups, filtered in the kernel (None: all). nonblocking: each iteration
    stops and recv() raises BlockingIOError when nothing is queued. rcvbuf: receive buffer to ask
    for, bytes (0: the library's default). flags: more SUB_* bits. netns_fd: a network namespace
    fd or file to subscribe in. batch: datagrams per system call (0: the library's default).
    """
    return Subscription(*_open(groups, nonblocking, rcvbuf, flags, netns_fd, batch))


def subscribe_async(groups: Optional[Iterable[int]] = None, rcvbuf: int = 0, flags: int = 0,
                    netns_fd: Optional[NetnsFd] = None, batch: int = 0) -> AsyncSubscription:
    """Subscribes to psample samples for asyncio (a nonblocking handle); the arguments are
    subscribe()'s. Opening does not wait (no await): `async with psample.subscribe_async(...)`."""
    return AsyncSubscription(*_open(groups, True, rcvbuf, flags, netns_fd, batch))


def list_groups(netns_fd: Optional[NetnsFd] = None) -> List[GroupInfo]:
    """psample's groups in this network namespace (or netns_fd's). Needs no privilege."""
    opts, _array = _opts(netns_fd=netns_fd)
    total = ctypes.c_size_t()
    n = 16
    while True:
        buf = (_GroupInfo * n)()
        rc: int = _lib().psample_list_groups(ctypes.byref(opts), buf, n, ctypes.sizeof(_GroupInfo),
                                             ctypes.byref(total))
        if rc < 0:
            raise _error(rc)
        if total.value <= n:
            return [_abi.group_info_from_c(g, GroupInfo) for g in buf[:rc]]
        n = total.value + 16  # more than fit: again, with room for groups created meanwhile


def decode(message: bytes) -> Packet:
    """Decodes one psample netlink message (from the nlmsghdr on, e.g. captured with nlmon).
    Raises OSError EBADMSG for a malformed message, ENOMSG for one that is not psample's."""
    message = bytes(message)
    pkt = _Packet()
    rc: int = _lib().psample_decode(message, len(message), ctypes.byref(pkt), ctypes.sizeof(pkt))
    if rc < 0:
        raise _error(rc)
    return _packet(pkt)  # copies out of `message` before it can go away
