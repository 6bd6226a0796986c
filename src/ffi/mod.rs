//! The C API of libpsample. Every function here only checks pointers and sizes, converts, calls the
//! safe core and maps errors to `-errno` (also stored in `errno`). No logic lives here.

#![allow(non_camel_case_types)]

mod args;
mod convert;
pub mod types;

use std::ffi::{c_char, c_int, c_void};
use std::mem::size_of;
use std::ptr::addr_of;

use crate::decode::{decode_message, effective_rate, ovs_cookie, OVS_COOKIE_LEN};
use crate::error::{message, Errno};
use crate::options::{Options, MAX_GROUPS};
use crate::subscription::{self, Subscription};
use args::*;
use convert::*;
use types::*;

/// A subscription to psample samples: one netlink socket and its receive buffers. Opaque; create
/// with psample_subscribe(), free with psample_close(). Not thread-safe: use one handle per thread
/// (handles are independent).
pub struct psample_sub {
    inner: Subscription,
}

/// The subscription behind a caller's handle, unless it is NULL.
///
/// # Safety
/// `sub` must be NULL or a live handle from psample_subscribe(), not used by another thread
/// during `'a`.
unsafe fn handle<'a>(sub: *const psample_sub) -> Result<&'a Subscription, Errno> {
    // SAFETY: non-null (checked) live handle, per the caller contract.
    Ok(unsafe { &(*non_null(sub)?).inner })
}

/// As [`handle`], for the calls that receive (they use the handle's buffers).
///
/// # Safety
/// As [`handle`].
unsafe fn handle_mut<'a>(sub: *mut psample_sub) -> Result<&'a mut Subscription, Errno> {
    // SAFETY: non-null (checked) live handle, used by this thread only, per the caller contract.
    Ok(unsafe { &mut (*non_null_mut(sub)?).inner })
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
/// kernel (load the psample module), `-EPERM` without CAP_NET_ADMIN, `-EINVAL` for a NULL `out`
/// or bad `opts`, `-EBADF` for a bad `netns_fd`. psample_strerror() explains each. `*out` is set
/// to NULL on failure.
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
        // SAFETY: as above; ownership of the box passes to the caller until psample_close().
        unsafe { out.write(Box::into_raw(Box::new(psample_sub { inner }))) };
        Ok(0)
    })
}

/// Receives up to `n` records into `pkts`, an array of `n` elements of `pkt_size` bytes each
/// (pass `sizeof(struct psample_packet)`; the library writes `min(pkt_size, its own size)` bytes
/// per element and zeroes the rest of each element, so fields of a newer header read 0).
///
/// Blocks until at least one record is queued, then takes what is queued, up to `n` (and the
/// handle's batch size), without blocking again. Returns the number of records filled (>= 1),
/// 0 when `n` is 0, or a negative errno: `-EAGAIN` (nonblocking handle, nothing queued), `-EINTR`
/// (a signal arrived first), `-ENOBUFS` (only with `PSAMPLE_SUB_ENOBUFS`), `-ENODEV` (the psample
/// module was unloaded), `-EINVAL` (NULL `sub`, NULL `pkts` with `n > 0`, `pkt_size` below
/// `PSAMPLE_PACKET_SIZE_V1` or above `PSAMPLE_MAX_STRUCT_SIZE`).
///
/// Pointers in the filled packets stay valid until the next psample_recv() or psample_close() on
/// this handle.
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
        // SAFETY: the caller passes NULL or a live handle it uses from this thread only.
        let sub = unsafe { handle_mut(sub) }?;
        let pkt_size = struct_size(pkt_size, PSAMPLE_PACKET_SIZE_V1)?;
        let base = out_array(pkts, n, pkt_size)?;
        let mut filled = 0usize;
        sub.recv(n, |sample| {
            if filled < n {
                // SAFETY: element `filled < n` lies inside the caller's array of `n * pkt_size` bytes.
                unsafe { write_extensible(&packet_to_c(sample), base.add(filled * pkt_size), pkt_size) };
                filled += 1;
            }
        })?;
        Ok(filled as c_int)
    })
}

/// The handle's socket descriptor, for poll/epoll (POLLIN). Owned by the handle: do not close it or
/// read from it. `-EINVAL` for a NULL `sub`.
///
/// # Safety
/// `sub` must be NULL or a live handle.
#[no_mangle]
pub unsafe extern "C" fn psample_fd(sub: *const psample_sub) -> c_int {
    to_c_int(|| {
        // SAFETY: the caller passes NULL or a live handle.
        Ok(unsafe { handle(sub) }?.fd())
    })
}

/// Closes the handle and frees it. NULL is a no-op. Pointers from earlier psample_recv() calls
/// become invalid.
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

/// Fills `*st` (`size` = `sizeof(struct psample_stats)`) with the handle's loss accounting. Writes
/// `min(size, its own size)` bytes, zeroes the rest of the caller's `size` bytes, and sets
/// `st->size` to the bytes it filled. Returns 0, or
/// `-EINVAL` for NULL pointers or `size` below `PSAMPLE_STATS_SIZE_V1`.
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
        let out = stats_to_c(&sub.stats(), size.min(size_of::<psample_stats>()));
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
        let sample = decode_message(msg)?;
        // SAFETY: the caller promises `pkt_size` writable bytes at `pkt`.
        unsafe { write_extensible(&packet_to_c(&sample), pkt.cast(), pkt_size) };
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
        // SAFETY: the caller passes NULL or a live handle no other thread uses during the call.
        let sub = unsafe { handle(sub) }?;
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
#[no_mangle]
pub extern "C" fn psample_strerror(err: c_int) -> *const c_char {
    message(err).as_ptr()
}

/// The library version, "MAJOR.MINOR.PATCH". Static.
#[no_mangle]
pub extern "C" fn psample_version() -> *const c_char {
    concat!(env!("CARGO_PKG_VERSION"), "\0").as_ptr().cast()
}
