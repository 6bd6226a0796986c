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
import ipaddress
import os
from dataclasses import dataclass
from typing import Iterator, List, Optional

__all__ = [
    "GroupInfo", "Packet", "Stats", "Subscription", "Tunnel",
    "decode", "list_groups", "subscribe", "version",
]

# Subscription flags (PSAMPLE_SUB_*), for subscribe(flags=...); psample.h documents each.
SUB_NONBLOCK = 1
SUB_ENOBUFS = 2
SUB_ALL_NETNS = 4
SUB_ACCEPT_USERSPACE = 8
SUB_CONFIG_EVENTS = 16
SUB_NO_SAMPLES = 32
SUB_RESUBSCRIBE = 64
SUB_NETNS_FD = 128

# Packet.kind
KIND_SAMPLE = 0
KIND_GROUP_CREATED = 1
KIND_GROUP_DELETED = 2

# Packet.flags
PKT_F_TRUNCATED = 1
PKT_F_USERSPACE = 2

# Packet.fields: bit N is set when PSAMPLE_ATTR N was present.
FIELD_IIFINDEX = 1 << 0
FIELD_OIFINDEX = 1 << 1
FIELD_ORIGSIZE = 1 << 2
FIELD_SAMPLE_GROUP = 1 << 3
FIELD_GROUP_SEQ = 1 << 4
FIELD_SAMPLE_RATE = 1 << 5
FIELD_DATA = 1 << 6
FIELD_GROUP_REFCOUNT = 1 << 7
FIELD_TUNNEL = 1 << 8
FIELD_OUT_TC = 1 << 10
FIELD_OUT_TC_OCC = 1 << 11
FIELD_LATENCY = 1 << 12
FIELD_TIMESTAMP = 1 << 13
FIELD_PROTO = 1 << 14
FIELD_USER_COOKIE = 1 << 15
FIELD_SAMPLE_PROBABILITY = 1 << 16

# Tunnel.fields (PSAMPLE_TUNNEL_FIELD_*); for the flags, the bit is the whole value.
TUNNEL_FIELD_ID = 1 << 0
TUNNEL_FIELD_IPV4_SRC = 1 << 1
TUNNEL_FIELD_IPV4_DST = 1 << 2
TUNNEL_FIELD_TOS = 1 << 3
TUNNEL_FIELD_TTL = 1 << 4
TUNNEL_FIELD_DONT_FRAGMENT = 1 << 5
TUNNEL_FIELD_CSUM = 1 << 6
TUNNEL_FIELD_OAM = 1 << 7
TUNNEL_FIELD_GENEVE_OPTS = 1 << 8
TUNNEL_FIELD_TP_SRC = 1 << 9
TUNNEL_FIELD_TP_DST = 1 << 10
TUNNEL_FIELD_VXLAN_OPTS = 1 << 11
TUNNEL_FIELD_IPV6_SRC = 1 << 12
TUNNEL_FIELD_IPV6_DST = 1 << 13
TUNNEL_FIELD_ERSPAN_OPTS = 1 << 15
TUNNEL_FIELD_IPV4_INFO_BRIDGE = 1 << 16

MAX_GROUPS = 1024
MAX_RCVBUF = 1 << 30
MAX_BATCH = 1024
_DEFAULT_BATCH = 16

_u8, _u16, _u32, _u64 = ctypes.c_uint8, ctypes.c_uint16, ctypes.c_uint32, ctypes.c_uint64
_bytes_p = ctypes.POINTER(_u8)


# The C structs of psample.h, field for field.
class _Opts(ctypes.Structure):
    _fields_ = [("size", ctypes.c_size_t), ("flags", _u32), ("rcvbuf", _u32),
                ("groups", ctypes.POINTER(_u32)), ("n_groups", _u32), ("netns_fd", ctypes.c_int32),
                ("batch", _u32), ("reserved", _u32)]


class _Tunnel(ctypes.Structure):
    _fields_ = [("id", _u64), ("geneve_opts", _bytes_p), ("erspan_opts", _bytes_p), ("fields", _u32),
                ("geneve_opts_len", _u32), ("erspan_opts_len", _u32), ("ipv4_src", _u8 * 4),
                ("ipv4_dst", _u8 * 4), ("ipv6_src", _u8 * 16), ("ipv6_dst", _u8 * 16), ("tp_src", _u16),
                ("tp_dst", _u16), ("tos", _u8), ("ttl", _u8), ("reserved", _u8 * 6)]


class _Packet(ctypes.Structure):
    _fields_ = [("fields", _u64), ("timestamp_ns", _u64), ("latency_ns", _u64), ("out_tc_occ", _u64),
                ("data", _bytes_p), ("user_cookie", _bytes_p), ("kind", _u32), ("flags", _u32),
                ("group", _u32), ("group_seq", _u32), ("rate", _u32), ("orig_size", _u32),
                ("data_len", _u32), ("iifindex", _u32), ("oifindex", _u32), ("user_cookie_len", _u32),
                ("group_refcount", _u32), ("sender_portid", _u32), ("nsid", ctypes.c_int32),
                ("out_tc", _u16), ("proto", _u16), ("tunnel", _Tunnel)]


class _Stats(ctypes.Structure):
    _fields_ = [("size", ctypes.c_size_t), ("delivered", _u64), ("kernel_drops", _u64), ("seq_gaps", _u64),
                ("truncated", _u64), ("decode_errors", _u64), ("enobufs", _u64),
                ("rejected_userspace", _u64), ("config_events", _u64), ("family_removed", _u64),
                ("resubscribed", _u64), ("rcvbuf", _u32), ("groups_tracked", _u32)]


class _GroupInfo(ctypes.Structure):
    _fields_ = [("group", _u32), ("refcount", _u32), ("next_seq", _u32), ("reserved", _u32)]


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
        if not 0 <= fd <= 0x7FFFFFFF:
            raise OSError(_errno.EBADF, _lib().psample_strerror(_errno.EBADF).decode())
        opts.flags |= SUB_NETNS_FD
        opts.netns_fd = fd
    return opts, array


@dataclass(frozen=True)
class Tunnel:
    """The tunnel key of a sample taken after decapsulation. Addresses are None when absent."""
    fields: int  # TUNNEL_FIELD_* presence bits
    id: int
    ipv4_src: Optional[ipaddress.IPv4Address]
    ipv4_dst: Optional[ipaddress.IPv4Address]
    ipv6_src: Optional[ipaddress.IPv6Address]
    ipv6_dst: Optional[ipaddress.IPv6Address]
    tp_src: int
    tp_dst: int
    tos: int
    ttl: int
    geneve_opts: bytes
    erspan_opts: bytes


@dataclass(frozen=True)
class Packet:
    """One record: a sample, or with SUB_CONFIG_EVENTS a group event (`kind`). A value is
    meaningful only when its FIELD_* bit is set in `fields`; absent values are 0 or b""."""
    fields: int
    kind: int
    flags: int
    group: int
    group_seq: int
    rate: int  # 1-in-N, or a probability with FIELD_SAMPLE_PROBABILITY: see effective_rate
    orig_size: int
    iifindex: int
    oifindex: int
    group_refcount: int
    sender_portid: int
    nsid: int  # -1: the subscriber's own namespace
    out_tc: int
    proto: int
    timestamp_ns: int
    latency_ns: int
    out_tc_occ: int
    data: bytes
    user_cookie: bytes
    tunnel: Optional[Tunnel]  # None when FIELD_TUNNEL is absent

    @property
    def effective_rate(self) -> int:
        """The sampling rate as "1 in N", whether the producer sent N or a probability (OVS)."""
        return _lib().psample_effective_rate(ctypes.byref(_Packet(fields=self.fields, rate=self.rate)))


@dataclass(frozen=True)
class Stats:
    """Loss accounting of a subscription (struct psample_stats)."""
    delivered: int
    kernel_drops: int
    seq_gaps: int
    truncated: int
    decode_errors: int
    enobufs: int
    rejected_userspace: int
    config_events: int
    family_removed: int
    resubscribed: int
    rcvbuf: int
    groups_tracked: int


@dataclass(frozen=True)
class GroupInfo:
    group: int
    refcount: int
    next_seq: int


def _copy(ptr, n: int) -> bytes:
    return ctypes.string_at(ptr, n) if ptr else b""


def _addr(cls, raw, present: bool):
    return cls(bytes(raw)) if present else None


def _packet(c: _Packet) -> Packet:
    tunnel = None
    if c.fields & FIELD_TUNNEL:
        t = c.tunnel
        tunnel = Tunnel(
            fields=t.fields, id=t.id,
            ipv4_src=_addr(ipaddress.IPv4Address, t.ipv4_src, t.fields & TUNNEL_FIELD_IPV4_SRC),
            ipv4_dst=_addr(ipaddress.IPv4Address, t.ipv4_dst, t.fields & TUNNEL_FIELD_IPV4_DST),
            ipv6_src=_addr(ipaddress.IPv6Address, t.ipv6_src, t.fields & TUNNEL_FIELD_IPV6_SRC),
            ipv6_dst=_addr(ipaddress.IPv6Address, t.ipv6_dst, t.fields & TUNNEL_FIELD_IPV6_DST),
            tp_src=t.tp_src, tp_dst=t.tp_dst, tos=t.tos, ttl=t.ttl,
            geneve_opts=_copy(t.geneve_opts, t.geneve_opts_len),
            erspan_opts=_copy(t.erspan_opts, t.erspan_opts_len))
    return Packet(
        fields=c.fields, kind=c.kind, flags=c.flags, group=c.group, group_seq=c.group_seq, rate=c.rate,
        orig_size=c.orig_size, iifindex=c.iifindex, oifindex=c.oifindex, group_refcount=c.group_refcount,
        sender_portid=c.sender_portid, nsid=c.nsid, out_tc=c.out_tc, proto=c.proto,
        timestamp_ns=c.timestamp_ns, latency_ns=c.latency_ns, out_tc_occ=c.out_tc_occ,
        data=_copy(c.data, c.data_len), user_cookie=_copy(c.user_cookie, c.user_cookie_len), tunnel=tunnel)


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
        return Stats(**{name: getattr(st, name) for name, _ in _Stats._fields_ if name != "size"})

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
    bytes (0: 32 MiB). flags: more SUB_* bits. netns_fd: a network namespace fd or file to
    subscribe in. batch: datagrams per system call (0: 16).
    """
    opts, _array = _opts(groups, nonblocking, rcvbuf, flags, netns_fd, batch)
    handle = ctypes.c_void_p()
    rc = _lib().psample_subscribe(ctypes.byref(handle), ctypes.byref(opts))
    if rc < 0:
        raise _error(rc)
    # Past MAX_BATCH the library has already refused.
    return Subscription(handle, batch or _DEFAULT_BATCH)


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
            return [GroupInfo(g.group, g.refcount, g.next_seq) for g in buf[:rc]]
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
