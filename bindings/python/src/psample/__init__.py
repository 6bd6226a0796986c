"""Receive Linux psample packet samples through libpsample, with ctypes (no compiler needed).

    import psample

    with psample.subscribe(groups=[7]) as sub:
        for pkt in sub:
            print(pkt.group, pkt.group_seq, pkt.oifindex, len(pkt.data), pkt.effective_rate)

Every record is copied into a `Packet` (its `data` is `bytes`), so packets stay valid after the
next receive and after `close()`. Errors are `OSError(errno, psample_strerror text)`: for
example `FileNotFoundError` without psample in the kernel, `PermissionError` without
CAP_NET_ADMIN. The library is `$PSAMPLE_LIBRARY` when set, else `libpsample.so.0` as the
dynamic loader finds it, else what `ctypes.util.find_library("psample")` finds.
"""

from __future__ import annotations

import collections
import ctypes
import ctypes.util
import errno as _errno
import functools
import os
from typing import Iterator, List

from . import _abi
# The constants (enum classes, and their members by header name) and the C structures come from
# psample.h through bindings/gen.py: see _abi.py.
from ._abi import *  # noqa: F401,F403
from ._abi import GroupInfo, Stats, Tunnel  # noqa: F401 (public records)
from ._abi import _GroupInfo, _GroupStats, _Opts, _Packet, _Stats, _Tunnel  # noqa: F401 (the tests read their layouts)
from ._abi import DEFAULT_BATCH, SUB_NETNS_FD, SUB_NONBLOCK

__all__ = [
    "GroupInfo", "Packet", "Stats", "Subscription", "Tunnel",
    "decode", "list_groups", "subscribe", "version",
]

_u32 = ctypes.c_uint32


@functools.lru_cache(maxsize=None)
def _lib() -> ctypes.CDLL:
    """Loads libpsample once, on first use (so `import psample` works without it)."""
    path = os.environ.get("PSAMPLE_LIBRARY")
    if path:
        lib = ctypes.CDLL(path)
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


def _error(rc: int) -> OSError:
    """OSError for a negative errno; its constructor picks the subclass (FileNotFoundError, ...)."""
    return OSError(-rc, _lib().psample_strerror(rc).decode())


def version() -> str:
    """The library's version, "MAJOR.MINOR.PATCH"."""
    return _lib().psample_version().decode()


def _u32_arg(name: str, value: int) -> int:
    # ctypes would silently wrap negative or oversized values.
    if not 0 <= value <= 0xFFFFFFFF:
        raise ValueError(f"{name} {value} is not a 32-bit unsigned value")
    return value


def _opts(groups=None, nonblocking=False, rcvbuf=0, flags=0, netns_fd=None, batch=0):
    """A _Opts and the group array it points to (keep both alive during the call)."""
    groups = [_u32_arg("group", g) for g in (groups or ())]
    array = (_u32 * len(groups))(*groups)
    opts = _Opts(size=ctypes.sizeof(_Opts), flags=_u32_arg("flags", flags), rcvbuf=_u32_arg("rcvbuf", rcvbuf),
                 groups=array if groups else None, n_groups=len(groups), batch=_u32_arg("batch", batch))
    if nonblocking:
        opts.flags |= SUB_NONBLOCK
    if netns_fd is not None:
        fd = netns_fd if isinstance(netns_fd, int) else netns_fd.fileno()
        if not -0x80000000 <= fd <= 0x7FFFFFFF:  # what int32_t cannot carry; the library checks the rest
            raise OSError(_errno.EBADF, _lib().psample_strerror(_errno.EBADF).decode())
        opts.flags |= SUB_NETNS_FD
        opts.netns_fd = fd
    return opts, array


class Packet(_abi.Packet):
    __doc__ = _abi.Packet.__doc__
    __slots__ = ()

    @property
    def effective_rate(self) -> int:
        """The sampling rate as "1 in N", whether the producer sent N or a probability (OVS)."""
        return _lib().psample_effective_rate(ctypes.byref(_Packet(fields=self.fields, rate=self.rate)))


def _packet(c: _Packet) -> Packet:
    return _abi.packet_from_c(c, Packet)


class Subscription:
    """A psample subscription: a context manager, and an iterator of Packets.

    Iterating blocks for the next packet; on a nonblocking subscription it stops when nothing is
    queued (poll `fileno()` for reading, then iterate again). Not thread-safe: one per thread.
    """

    def __init__(self, handle: ctypes.c_void_p, batch: int):
        self._h = handle
        self._buf = (_Packet * batch)()
        self._pending: collections.deque = collections.deque()

    def _handle(self) -> ctypes.c_void_p:
        if not self._h:
            raise ValueError("I/O operation on a closed psample subscription")
        return self._h

    def recv(self) -> List[Packet]:
        """Receives at least one record (up to the batch size). Blocks unless nonblocking, then
        raises BlockingIOError when nothing is queued."""
        while True:
            rc = _lib().psample_recv(self._handle(), self._buf, len(self._buf), ctypes.sizeof(_Packet))
            # PEP 475: retry after a signal; a handler that raises (KeyboardInterrupt) ends the
            # wait, since Python runs handlers between these calls.
            if rc != -_errno.EINTR:
                break
        if rc < 0:
            raise _error(rc)
        return [_packet(self._buf[i]) for i in range(rc)]

    def __iter__(self) -> Iterator[Packet]:
        return self

    def __next__(self) -> Packet:
        if not self._pending:
            try:
                self._pending.extend(self.recv())
            except BlockingIOError:
                raise StopIteration from None
        return self._pending.popleft()

    def stats(self) -> Stats:
        st = _Stats()
        rc = _lib().psample_stats(self._handle(), ctypes.byref(st), ctypes.sizeof(st))
        if rc < 0:
            raise _error(rc)
        return _abi.stats_from_c(st)

    def fileno(self) -> int:
        """The socket, for select/poll/selectors; owned by the subscription."""
        return _lib().psample_fd(self._handle())

    def close(self) -> None:
        """Closes the subscription (again: no-op). Received packets stay valid."""
        if self._h:
            _lib().psample_close(self._h)
            self._h = None
            self._pending.clear()

    @property
    def closed(self) -> bool:
        return not self._h

    def __enter__(self) -> "Subscription":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def __del__(self):
        try:
            self.close()
        except Exception:  # interpreter shutdown: the library may be gone already
            pass


def subscribe(groups=None, nonblocking=False, rcvbuf=0, flags=0, netns_fd=None, batch=0) -> Subscription:
    """Subscribes to psample samples.

    groups: only these groups, filtered in the kernel (None: all). nonblocking: iteration stops
    and recv() raises BlockingIOError when nothing is queued. rcvbuf: receive buffer to ask for,
    bytes (0: the library's default). flags: more SUB_* bits. netns_fd: a network namespace fd or file to
    subscribe in. batch: datagrams per system call (0: the library's default).
    """
    opts, _array = _opts(groups, nonblocking, rcvbuf, flags, netns_fd, batch)
    handle = ctypes.c_void_p()
    rc = _lib().psample_subscribe(ctypes.byref(handle), ctypes.byref(opts))
    if rc < 0:
        raise _error(rc)
    # Room for the most one receive can return: the handle's batch (past MAX_BATCH the library has
    # already refused).
    return Subscription(handle, batch or DEFAULT_BATCH)


def list_groups(netns_fd=None) -> List[GroupInfo]:
    """psample's groups in this network namespace (or netns_fd's). Needs no privilege."""
    opts, _array = _opts(netns_fd=netns_fd)
    total = ctypes.c_size_t()
    n = 16
    while True:
        buf = (_GroupInfo * n)()
        rc = _lib().psample_list_groups(ctypes.byref(opts), buf, n, ctypes.sizeof(_GroupInfo), ctypes.byref(total))
        if rc < 0:
            raise _error(rc)
        if total.value <= n:
            return [_abi.group_info_from_c(g) for g in buf[:rc]]
        n = total.value + 16  # more than fit: again, with room for groups created meanwhile


def decode(message: bytes) -> Packet:
    """Decodes one psample netlink message (from the nlmsghdr on, e.g. captured with nlmon).
    Raises OSError EBADMSG for a malformed message, ENOMSG for one that is not psample's."""
    message = bytes(message)
    pkt = _Packet()
    rc = _lib().psample_decode(message, len(message), ctypes.byref(pkt), ctypes.sizeof(pkt))
    if rc < 0:
        raise _error(rc)
    return _packet(pkt)  # copies out of `message` before it can go away
