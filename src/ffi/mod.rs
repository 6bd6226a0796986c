//! The C API of libpsample. Every function here only checks pointers and sizes, converts, calls the
//! safe core and maps errors to `-errno` (also stored in `errno`). No logic lives here.

#![allow(non_camel_case_types)]

mod args;
mod convert;
pub mod types;

use std::cell::UnsafeCell;
use std::ffi::{c_char, c_int, c_void};
use std::mem::size_of;
use std::ptr::addr_of;

use crate::decode::{effective_rate, ovs_cookie, record_kind, split_header, OVS_COOKIE_LEN};
use crate::error::{message, Errno};
use crate::options::{Options, MAX_GROUPS};
use crate::recv::Received;
use crate::subscription::{self, Remote, Subscription};
use args::*;
use convert::*;
use types::*;

/// A subscription to psample samples: one netlink socket and its receive buffers. Opaque; create
/// with psample_subscribe(), free with psample_close(). Each function's "Thread safety" line says
/// what may run concurrently on one handle; handles are independent.
pub struct psample_sub {
    /// The socket descriptor, fixed for the handle's life.
    fd: c_int,
    /// What psample_stats() and psample_wakeup() use from any thread (atomics, the waker socket).
    remote: Remote,
    /// Receive state. Only psample_recv() touches it, one thread at a time by the C contract, so
    /// a `&mut` to it never coexists with another reference to it; the other entry points reach
    /// `fd` and `remote` through `&psample_sub` without going near it.
    inner: UnsafeCell<Subscription>,
}

/// The shared parts of a caller's handle, unless it is NULL.
///
/// # Safety
/// `sub` must be NULL or a live handle from psample_subscribe() (not closed during `'a`).
unsafe fn handle<'a>(sub: *const psample_sub) -> Result<&'a psample_sub, Errno> {
    // SAFETY: non-null (checked) live handle, per the caller contract. Any thread may hold a
    // shared reference: the receive state is behind an UnsafeCell.
    Ok(unsafe { &*non_null(sub)? })
}

/// The receive state of a caller's handle, for psample_recv().
///
/// # Safety
/// As [`handle`], and no other thread is inside psample_recv() on it during `'a`.
unsafe fn receiver<'a>(sub: *mut psample_sub) -> Result<&'a mut Subscription, Errno> {
    // SAFETY: live handle (caller contract); `inner` is dereferenced only here and in
    // `receive_state`, both called by one thread at a time per handle and never while the other
    // runs on it (the C contract), so the `&mut` is unique.
    Ok(unsafe { &mut *handle(sub)?.inner.get() })
}

/// The receive state of a caller's handle, read-only, for psample_group_stats().
///
/// # Safety
/// As [`handle`], and no other thread is inside psample_recv() on it during `'a`.
unsafe fn receive_state<'a>(sub: *const psample_sub) -> Result<&'a Subscription, Errno> {
    // SAFETY: live handle (caller contract); no psample_recv() runs on it meanwhile, so no `&mut`
    // to `inner` exists while this shared reference lives.
    Ok(unsafe { &*handle(sub)?.inner.get() })
}

/// Copies in a caller's `psample_opts` (NULL: None), zero-extending an older, smaller struct.
///
/// # Safety
/// `opts` is NULL or points to a `struct psample_opts` of at least `opts->size` bytes.
unsafe fn read_opts_struct(opts: *const psample_opts) -> Result<Option<psample_opts>, Errno> {
    if opts.is_null() {
        return Ok(None);
    }
    // SAFETY: non-null; `size` is the struct's first field, present in every version.
    let size = unsafe { std::ptr::read_unaligned(opts.cast::<usize>()) };
    // SAFETY: the caller promises `size` readable bytes at `opts`; psample_opts is integers and
    // pointers, valid when all-zero.
    unsafe { read_extensible(opts.cast(), size, PSAMPLE_OPTS_SIZE_V1) }.map(Some)
}

/// Reads `opts` (NULL: defaults) and the group list it points to, into core options. The core
/// checks them (`Options::validate`) when the subscription opens.
///
/// # Safety
/// As `read_opts_struct`; and `groups` is NULL or points to `n_groups` readable `uint32_t`s.
unsafe fn read_options(opts: *const psample_opts) -> Result<Options, Errno> {
    // SAFETY: forwarded caller contract.
    let Some(o) = (unsafe { read_opts_struct(opts)? }) else {
        return Ok(Options::default());
    };
    // SAFETY: forwarded caller contract for `groups`; a count above the core's limit is refused
    // before reading.
    let groups = unsafe { in_array(o.groups, o.n_groups as usize, MAX_GROUPS)? };
    options_from_c(&o, groups)
}

/// Subscribes to psample samples and stores a new handle in `*out`.
///
/// `opts` may be NULL for the defaults: blocking, every group, this network namespace, kernel
/// senders only, a 32 MiB receive buffer, overruns counted rather than reported.
///
/// Returns 0, or a negative errno (also stored in `errno`): `-ENOENT` when psample is not in the
/// kernel (load the psample module, or pass `PSAMPLE_SUB_WAIT_FAMILY`), `-EPERM` without CAP_NET_ADMIN, `-EINVAL` for a NULL `out`
/// or bad `opts`, `-EBADF` for a bad `netns_fd`. psample_strerror() explains each. `*out` is set
/// to NULL on failure.
///
/// Thread safety: any thread; the new handle is not yet shared.
///
/// # Safety
/// `out` must be NULL or writable; `opts` must be NULL or point to `opts->size` readable bytes, and
/// its `groups` to `n_groups` readable values.
#[no_mangle]
#[must_use]
pub unsafe extern "C" fn psample_subscribe(out: *mut *mut psample_sub, opts: *const psample_opts) -> c_int {
    to_c_int(|| {
        let out = non_null_mut(out)?;
        // SAFETY: `out` is non-null and the caller promises it is writable.
        unsafe { out.write(std::ptr::null_mut()) };
        // SAFETY: forwarded caller contract for `opts`.
        let inner = Subscription::open(unsafe { read_options(opts) }?)?;
        let sub = psample_sub { fd: inner.fd(), remote: inner.remote(), inner: UnsafeCell::new(inner) };
        // SAFETY: as above; ownership of the box passes to the caller until psample_close().
        unsafe { out.write(Box::into_raw(Box::new(sub))) };
        Ok(0)
    })
}

/// Receives up to `n` records into `pkts`, an array of `n` elements of `pkt_size` bytes each
/// (pass `sizeof(struct psample_packet)`; the library writes `min(pkt_size, its own size)` bytes
/// per element and zeroes the rest of each element, so fields of a newer header read 0).
///
/// Blocks until at least one record is queued, then takes what is queued, up to `n` (and the
/// handle's batch size), without blocking again: one recvmmsg(2) per call, waiting or not.
/// Returns the number of records filled (>= 1), 0 when `n` is 0, or a negative errno:
/// `-EAGAIN` (nonblocking handle, nothing queued; with `PSAMPLE_SUB_WAIT_FAMILY` also while
/// psample is not loaded), `-ECANCELED` (psample_wakeup() was called: see there; checked first,
/// before reading, and queued records stay for the next call), `-EINTR` (a signal arrived while waiting, even with
/// `SA_RESTART`: call again), `-ENOBUFS` (only with `PSAMPLE_SUB_ENOBUFS`), `-ENODEV` (the psample
/// module was unloaded), `-EINVAL` (NULL `sub`, NULL `pkts` with `n > 0`, `pkt_size` below
/// `PSAMPLE_PACKET_SIZE_V1` or above `PSAMPLE_MAX_STRUCT_SIZE`).
///
/// Pointers in the filled packets stay valid until the next psample_recv() or psample_close() on
/// this handle.
///
/// Thread safety: one thread at a time per handle. psample_stats(), psample_wakeup(),
/// psample_poll_fd() and psample_fd() may run on other threads meanwhile; nothing else may.
///
/// # Safety
/// `sub` must be NULL or a live handle used by one thread at a time; `pkts` must be NULL or point
/// to `n * pkt_size` writable bytes.
#[no_mangle]
#[must_use]
pub unsafe extern "C" fn psample_recv(
    sub: *mut psample_sub,
    pkts: *mut psample_packet,
    n: usize,
    pkt_size: usize,
) -> c_int {
    to_c_int(|| {
        // SAFETY: the caller passes NULL or a live handle on which no other psample_recv() runs.
        let sub = unsafe { receiver(sub) }?;
        let pkt_size = struct_size(pkt_size, PSAMPLE_PACKET_SIZE_V1)?;
        let base = out_array(pkts, n, pkt_size)?;
        // SAFETY: the caller promises `n * pkt_size` writable bytes at `pkts`, ours for the call.
        let mut sink = unsafe { PacketArray::new(base, n, pkt_size) };
        sub.recv_into(n, &mut sink)?;
        Ok(sink.filled() as c_int)
    })
}

/// The handle's socket descriptor, for poll/epoll (POLLIN): the same descriptor as
/// psample_poll_fd(), which documents it. Owned by the handle: do not close it or read from it.
/// `-EINVAL` for a NULL `sub`.
///
/// Thread safety: any thread, also during psample_recv() (the descriptor never changes).
///
/// # Safety
/// `sub` must be NULL or a live handle.
#[no_mangle]
pub unsafe extern "C" fn psample_fd(sub: *const psample_sub) -> c_int {
    to_c_int(|| {
        // SAFETY: the caller passes NULL or a live handle.
        Ok(unsafe { handle(sub) }?.fd)
    })
}

/// The one descriptor an event loop (poll, epoll, the Go netpoller, asyncio's add_reader, tokio's
/// AsyncFd) waits on: readable (POLLIN) when records are queued or a psample_wakeup() is pending.
/// It is the handle's socket; a wake-up makes it readable by queueing a token the library
/// recognises and never returns. Owned by the handle: do not close it or read from it. Fixed
/// for the handle's life (also across a module reload). Since 0.3.
///
/// The pattern: subscribe with `PSAMPLE_SUB_NONBLOCK`; wait for POLLIN on this descriptor; then
/// call psample_recv() until it returns `-EAGAIN`, and wait again. `-ECANCELED` from
/// psample_recv() is your psample_wakeup(): leave the loop (or do what the wake-up was for).
///
/// Returns the descriptor, or `-EINVAL` for a NULL `sub`.
///
/// Thread safety: any thread, also during psample_recv().
///
/// # Safety
/// `sub` must be NULL or a live handle.
#[no_mangle]
pub unsafe extern "C" fn psample_poll_fd(sub: *const psample_sub) -> c_int {
    to_c_int(|| {
        // SAFETY: the caller passes NULL or a live handle.
        Ok(unsafe { handle(sub) }?.fd)
    })
}

/// Closes the handle and frees it. NULL is a no-op. Pointers from earlier psample_recv() calls
/// become invalid.
///
/// Thread safety: no other call may be running or start on this handle, on any thread or in a
/// signal handler: wake the receiver with psample_wakeup() and join it first, and reset (or
/// block) any signal handler that calls psample_wakeup() on it before closing.
///
/// # Safety
/// `sub` must be NULL or a live handle, and is not used again.
#[no_mangle]
pub unsafe extern "C" fn psample_close(sub: *mut psample_sub) {
    if !sub.is_null() {
        // SAFETY: `sub` came from Box::into_raw in psample_subscribe() and is closed once.
        drop(unsafe { Box::from_raw(sub) });
    }
}

/// Wakes the handle's receiver, as libpcap's pcap_breakloop(): the next psample_recv() on `sub`,
/// or the one blocked now, returns `-ECANCELED` before reading more, whether or not samples are
/// queued, also under a sustained stream. Queued samples stay in the socket for later calls:
/// none is lost or counted as dropped. A psample_recv() already inside its read returns the batch
/// it got first; the call after it returns `-ECANCELED`. Once per call of psample_wakeup():
/// three calls make three psample_recv() calls return `-ECANCELED`.
///
/// It also makes psample_poll_fd() readable, so an event loop wakes and its next psample_recv()
/// returns `-ECANCELED`.
///
/// For a clean shutdown, call it from a signal handler or another thread and leave the receive
/// loop on `-ECANCELED` (then reset the signal handler before psample_close()).
///
/// Returns 0, or `-EINVAL` for a NULL `sub`, or `-EPERM` when the handle was subscribed without
/// CAP_NET_ADMIN (possible for group events only): the wake-up still counts, but cannot make the
/// descriptor readable, so a blocked psample_recv() answers it only when the next record arrives,
/// and the next call at once. Leaves `errno` alone on success.
///
/// Thread safety: any thread, also while another thread is inside psample_recv() on this handle,
/// and async-signal-safe (one lock-free atomic add and one send(2) of a 16-byte token from a
/// socket the handle owns: no lock, no allocation). Not after psample_close() has begun.
///
/// # Safety
/// `sub` must be NULL or a live handle.
#[no_mangle]
pub unsafe extern "C" fn psample_wakeup(sub: *const psample_sub) -> c_int {
    to_c_int(|| {
        // SAFETY: the caller passes NULL or a live handle.
        unsafe { handle(sub) }?.remote.wake()?;
        Ok(0)
    })
}

/// Fills `*st` (`size` = `sizeof(struct psample_stats)`) with the handle's loss accounting. Writes
/// `min(size, its own size)` bytes, zeroes the rest of the caller's `size` bytes, and sets
/// `st->size` to the bytes it filled. Returns 0, or
/// `-EINVAL` for NULL pointers or `size` below `PSAMPLE_STATS_SIZE_V1`.
///
/// Thread safety: any thread, also while another thread is inside psample_recv() on this handle.
/// Each counter is read whole (no torn 64-bit value); counters are read one by one, so two of them
/// may be a few samples apart.
///
/// # Safety
/// `sub` must be NULL or a live handle; `st` must be NULL or point to `size` writable bytes.
#[no_mangle]
#[must_use]
pub unsafe extern "C" fn psample_stats(sub: *const psample_sub, st: *mut psample_stats, size: usize) -> c_int {
    to_c_int(|| {
        // SAFETY: the caller passes NULL or a live handle.
        let sub = unsafe { handle(sub) }?;
        let st = non_null_mut(st)?;
        let size = struct_size(size, PSAMPLE_STATS_SIZE_V1)?;
        let out = stats_to_c(&sub.remote.stats(), size.min(size_of::<psample_stats>()));
        // SAFETY: the caller promises `size` writable bytes at `st`.
        unsafe { write_extensible(&out, st.cast(), size) };
        Ok(0)
    })
}

/// Decodes one netlink message (`len` bytes at `msg`, e.g. captured with nlmon) into `*pkt`
/// (`pkt_size` = `sizeof(struct psample_packet)`; `min(pkt_size, its own size)` bytes are written
/// and the rest of the caller's `pkt_size` bytes zeroed). Pointers in `*pkt` point into `msg`.
///
/// Returns 0; `-EBADMSG` for a malformed message (short header, bad lengths, an attribute of the
/// wrong size); `-ENOMSG` for a netlink message that is not a sample or group event; `-EINVAL` for
/// NULL pointers or a small `pkt_size`. Unknown attributes are skipped.
///
/// Thread safety: any thread (no handle involved).
///
/// # Safety
/// `msg` must be NULL or point to `len` readable bytes; `pkt` must be NULL or point to `pkt_size`
/// writable bytes.
#[no_mangle]
#[must_use]
pub unsafe extern "C" fn psample_decode(
    msg: *const c_void,
    len: usize,
    pkt: *mut psample_packet,
    pkt_size: usize,
) -> c_int {
    to_c_int(|| {
        // SAFETY: the caller promises `len` readable bytes at `msg`, unchanged during the call.
        let msg = unsafe { in_bytes(msg.cast(), len) }?;
        let pkt = non_null_mut(pkt)?;
        let pkt_size = struct_size(pkt_size, PSAMPLE_PACKET_SIZE_V1)?;
        let (ty, command, msg) = split_header(msg)?;
        let kind = record_kind(ty, command)?;
        // SAFETY: the caller promises `pkt_size` writable bytes at `pkt`.
        unsafe { decode_into_element(pkt.cast(), pkt_size, kind, msg, &Received::default(), |_, _| 0) }?;
        Ok(0)
    })
}

/// Lists psample's groups (the kernel's `PSAMPLE_CMD_GET_GROUP` dump) in the caller's network
/// namespace, or in `opts->netns_fd`'s with `PSAMPLE_SUB_NETNS_FD` (other flags are ignored).
/// Fills up to `n` entries of `info_size` bytes (pass `sizeof(struct psample_group_info)`; at
/// least `PSAMPLE_GROUP_INFO_SIZE_V1`; each entry gets `min(info_size, its own size)` bytes, the
/// rest of it zeroed) and stores the number of groups that exist in `*total` (may be NULL) so the
/// array can be sized.
/// Returns the number filled, or a negative errno (`-ENOENT`: psample not loaded).
///
/// Thread safety: any thread (opens its own socket).
///
/// # Safety
/// `opts` as for psample_subscribe(); `groups` must be NULL or point to `n * info_size` writable
/// bytes; `total` must be NULL or writable.
#[no_mangle]
#[must_use]
pub unsafe extern "C" fn psample_list_groups(
    opts: *const psample_opts,
    groups: *mut psample_group_info,
    n: usize,
    info_size: usize,
    total: *mut usize,
) -> c_int {
    to_c_int(|| {
        let info_size = struct_size(info_size, PSAMPLE_GROUP_INFO_SIZE_V1)?;
        let base = out_array(groups, n, info_size)?;
        // SAFETY: forwarded caller contract for `opts`.
        let netns_fd = unsafe { read_opts_struct(opts) }?.and_then(|o| netns_from_c(&o));
        let (mut filled, mut count) = (0usize, 0usize);
        subscription::list_groups(netns_fd, |g| {
            if filled < n {
                // SAFETY: element `filled < n` lies inside the caller's array of `n * info_size` bytes.
                unsafe { write_extensible(&group_to_c(&g), base.add(filled * info_size), info_size) };
                filled += 1;
            }
            count += 1;
        })?;
        if !total.is_null() {
            // SAFETY: non-null; the caller promises it is writable.
            unsafe { total.write(count) };
        }
        Ok(filled.min(c_int::MAX as usize) as c_int)
    })
}

// The limit psample_group_stats() documents.
const _: () = assert!(crate::stats::MAX_TRACKED_GROUPS == 768);

/// Lists what this handle received per (namespace, group): samples delivered, samples missed by
/// the group's sequence numbers (`seq_lost`, the sum of the packets' `seq_lost`), and the last
/// sequence number. Fills up to `n` entries of `size` bytes (pass
/// `sizeof(struct psample_group_stats)`; at least `PSAMPLE_GROUP_STATS_SIZE_V1`; each entry gets
/// `min(size, its own size)` bytes, the rest of it zeroed) and stores the number of pairs followed
/// in `*total` (may be NULL) so the array can be sized. Pairs keep their order between calls
/// unless a new one appears. The handle follows at most 768 pairs (psample_stats()
/// `groups_tracked`); samples of others are neither listed nor counted as lost.
///
/// Returns the number filled, or `-EINVAL` (NULL `sub`, NULL `out` with `n > 0`, `size` below
/// `PSAMPLE_GROUP_STATS_SIZE_V1` or above `PSAMPLE_MAX_STRUCT_SIZE`).
///
/// Thread safety: one thread at a time per handle; not while another thread is inside
/// psample_recv() on the same handle (call it from the receiving thread, between receives).
///
/// # Safety
/// `sub` must be NULL or a live handle used by one thread at a time; `out` must be NULL or point
/// to `n * size` writable bytes; `total` must be NULL or writable.
#[no_mangle]
#[must_use]
pub unsafe extern "C" fn psample_group_stats(
    sub: *const psample_sub,
    out: *mut psample_group_stats,
    n: usize,
    size: usize,
    total: *mut usize,
) -> c_int {
    to_c_int(|| {
        // SAFETY: the caller passes NULL or a live handle no other thread receives on during the call.
        let sub = unsafe { receive_state(sub) }?;
        let size = struct_size(size, PSAMPLE_GROUP_STATS_SIZE_V1)?;
        let base = out_array(out, n, size)?;
        let (mut filled, mut count) = (0usize, 0usize);
        for g in sub.group_stats() {
            if filled < n {
                // SAFETY: element `filled < n` lies inside the caller's array of `n * size` bytes.
                unsafe { write_extensible(&group_stats_to_c(g), base.add(filled * size), size) };
                filled += 1;
            }
            count += 1;
        }
        if !total.is_null() {
            // SAFETY: non-null; the caller promises it is writable.
            unsafe { total.write(count) };
        }
        Ok(filled.min(c_int::MAX as usize) as c_int)
    })
}

/// The sampling rate of `pkt` as "1 in N", whether the producer sent N or a probability
/// (`PSAMPLE_FIELD_SAMPLE_PROBABILITY`, then N = round(UINT32_MAX / rate)). 0 for NULL or a zero
/// probability.
///
/// Thread safety: any thread.
///
/// # Safety
/// `pkt` must be NULL or point to a packet of at least `PSAMPLE_PACKET_SIZE_V1` bytes.
#[no_mangle]
pub unsafe extern "C" fn psample_effective_rate(pkt: *const psample_packet) -> u32 {
    if pkt.is_null() {
        return 0;
    }
    // SAFETY: non-null and the caller promises a packet of at least PSAMPLE_PACKET_SIZE_V1 bytes;
    // `rate` and `fields` are first-version fields, read in place without a reference to the
    // whole (possibly older, smaller) struct.
    let (rate, fields) = unsafe { (addr_of!((*pkt).rate).read_unaligned(), addr_of!((*pkt).fields).read_unaligned()) };
    effective_rate(rate, fields & PSAMPLE_FIELD_SAMPLE_PROBABILITY != 0)
}

/// Decodes the OVS local-sampling cookie of `pkt` (the `user_cookie` of samples from OVS's psample
/// action: the observation domain id then the observation point id, each big-endian) into
/// `*obs_domain_id` and `*obs_point_id`, in host order.
///
/// Returns 0; `-ENOENT` when the packet's cookie is not exactly 8 bytes (absent, or another
/// producer's cookie; psample_strerror()'s text for `ENOENT` is about the module, check this
/// code instead); `-EINVAL` for a NULL pointer (or a NULL `user_cookie` with `user_cookie_len`
/// 8). The outputs are written only on success.
///
/// Thread safety: reads only `*pkt`; any thread, as long as the packet's buffer is valid (until
/// the next psample_recv() or psample_close() on the handle that filled it).
///
/// # Safety
/// `pkt` must be NULL or point to a packet of at least `PSAMPLE_PACKET_SIZE_V1` bytes whose
/// `user_cookie` points to `user_cookie_len` readable bytes; `obs_domain_id` and `obs_point_id`
/// must be NULL or writable.
#[no_mangle]
#[must_use]
pub unsafe extern "C" fn psample_ovs_cookie(
    pkt: *const psample_packet,
    obs_domain_id: *mut u32,
    obs_point_id: *mut u32,
) -> c_int {
    to_c_int(|| {
        let pkt = non_null(pkt)?;
        let domain = non_null_mut(obs_domain_id)?;
        let point = non_null_mut(obs_point_id)?;
        // SAFETY: non-null packet of at least PSAMPLE_PACKET_SIZE_V1 bytes (caller contract);
        // both are first-version fields, read in place.
        let (cookie, len) = unsafe {
            (addr_of!((*pkt).user_cookie).read_unaligned(), addr_of!((*pkt).user_cookie_len).read_unaligned())
        };
        if len as usize != OVS_COOKIE_LEN {
            return Err(Errno(libc::ENOENT));
        }
        // SAFETY: the caller promises `user_cookie_len` readable bytes at `user_cookie`.
        let cookie = unsafe { in_bytes(cookie, OVS_COOKIE_LEN) }?;
        let (d, p) = ovs_cookie(cookie).ok_or(Errno(libc::ENOENT))?;
        // SAFETY: both non-null and writable (caller contract).
        unsafe {
            domain.write_unaligned(d);
            point.write_unaligned(p);
        }
        Ok(0)
    })
}

/// What an error code means and what to do about it. Accepts `-errno` or `errno`; never NULL;
/// the string is static.
///
/// Thread safety: any thread.
#[no_mangle]
pub extern "C" fn psample_strerror(err: c_int) -> *const c_char {
    message(err).as_ptr()
}

/// The library version, "MAJOR.MINOR.PATCH". Static.
///
/// Thread safety: any thread.
#[no_mangle]
pub extern "C" fn psample_version() -> *const c_char {
    concat!(env!("CARGO_PKG_VERSION"), "\0").as_ptr().cast()
}
