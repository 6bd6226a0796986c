//! Conversions between the C structs and the safe core's types.

use std::mem::size_of;
use std::os::fd::{FromRawFd, OwnedFd};
use std::sync::Arc;

use super::args::write_extensible;
use super::types::*;
use crate::decode::{decode_attrs_into, decode_tunnel, DecodeError, DecodeTarget, RecordKind, Tunnel};
use crate::error::{Errno, SysResult as Result};
use crate::options::Options;
use crate::recv::Received;
use crate::stats::{stats_fields, GroupStats, Stats};
use crate::subscription::Sink;
use crate::GroupInfo;

fn ptr_or_null(s: &[u8]) -> *const u8 {
    if s.is_empty() {
        std::ptr::null()
    } else {
        s.as_ptr()
    }
}

pub fn tunnel_to_c(t: &Tunnel<'_>) -> psample_tunnel {
    psample_tunnel {
        id: t.id,
        geneve_opts: ptr_or_null(t.geneve_opts),
        erspan_opts: ptr_or_null(t.erspan_opts),
        fields: t.fields,
        geneve_opts_len: t.geneve_opts.len() as u32,
        erspan_opts_len: t.erspan_opts.len() as u32,
        ipv4_src: t.ipv4_src,
        ipv4_dst: t.ipv4_dst,
        ipv6_src: t.ipv6_src,
        ipv6_dst: t.ipv6_dst,
        tp_src: t.tp_src,
        tp_dst: t.tp_dst,
        tos: t.tos,
        ttl: t.ttl,
        reserved: [0; 6],
    }
}

/// A packet with only what the socket says set (kind, transport fields), every attribute absent:
/// what the decoder starts from. Writing it whole is also what zeroes the fields of an element.
#[inline]
fn packet_start(kind: RecordKind, meta: &Received) -> psample_packet {
    let mut flags = 0;
    if meta.truncated {
        flags |= PSAMPLE_PKT_F_TRUNCATED;
    }
    if meta.sender_portid != 0 {
        flags |= PSAMPLE_PKT_F_USERSPACE;
    }
    psample_packet {
        fields: 0,
        timestamp_ns: 0,
        latency_ns: 0,
        out_tc_occ: 0,
        data: std::ptr::null(),
        user_cookie: std::ptr::null(),
        kind: kind as u32,
        flags,
        group: 0,
        group_seq: 0,
        rate: 0,
        orig_size: 0,
        data_len: 0,
        iifindex: 0,
        oifindex: 0,
        user_cookie_len: 0,
        group_refcount: 0,
        sender_portid: meta.sender_portid,
        nsid: meta.nsid,
        out_tc: 0,
        proto: 0,
        tunnel: psample_tunnel {
            id: 0,
            geneve_opts: std::ptr::null(),
            erspan_opts: std::ptr::null(),
            fields: 0,
            geneve_opts_len: 0,
            erspan_opts_len: 0,
            ipv4_src: [0; 4],
            ipv4_dst: [0; 4],
            ipv6_src: [0; 16],
            ipv6_dst: [0; 16],
            tp_src: 0,
            tp_dst: 0,
            tos: 0,
            ttl: 0,
            reserved: [0; 6],
        },
        seq_lost: 0,
    }
}

/// The decoder writes the C packet's fields directly. Byte fields become pointer and length,
/// pointing into the decoded buffer (NULL and 0 stay for an absent one).
impl<'a> DecodeTarget<'a> for psample_packet {
    #[inline]
    fn set_iifindex(&mut self, v: u32) {
        self.iifindex = v;
    }
    #[inline]
    fn set_oifindex(&mut self, v: u32) {
        self.oifindex = v;
    }
    #[inline]
    fn set_orig_size(&mut self, v: u32) {
        self.orig_size = v;
    }
    #[inline]
    fn set_group(&mut self, v: u32) {
        self.group = v;
    }
    #[inline]
    fn set_group_seq(&mut self, v: u32) {
        self.group_seq = v;
    }
    #[inline]
    fn set_rate(&mut self, v: u32) {
        self.rate = v;
    }
    #[inline]
    fn set_data(&mut self, v: &'a [u8]) {
        self.data = ptr_or_null(v);
        self.data_len = v.len() as u32;
    }
    #[inline]
    fn set_group_refcount(&mut self, v: u32) {
        self.group_refcount = v;
    }
    // Out of line: rare, and inlined it would give the whole attribute walk a large stack frame.
    #[inline(never)]
    fn set_tunnel(&mut self, nest: &'a [u8]) -> std::result::Result<(), DecodeError> {
        self.tunnel = tunnel_to_c(&decode_tunnel(nest)?);
        Ok(())
    }
    #[inline]
    fn set_out_tc(&mut self, v: u16) {
        self.out_tc = v;
    }
    #[inline]
    fn set_out_tc_occ(&mut self, v: u64) {
        self.out_tc_occ = v;
    }
    #[inline]
    fn set_latency_ns(&mut self, v: u64) {
        self.latency_ns = v;
    }
    #[inline]
    fn set_timestamp_ns(&mut self, v: u64) {
        self.timestamp_ns = v;
    }
    #[inline]
    fn set_proto(&mut self, v: u16) {
        self.proto = v;
    }
    #[inline]
    fn set_user_cookie(&mut self, v: &'a [u8]) {
        self.user_cookie = ptr_or_null(v);
        self.user_cookie_len = v.len() as u32;
    }
    #[inline]
    fn set_fields(&mut self, fields: u64) {
        self.fields = fields;
    }
}

/// Decodes the record `msg` straight into a caller's element of `size` bytes at `elem`: the
/// element is started once (transport fields, everything else absent), each present attribute is
/// then written once into it, and bytes past `struct psample_packet` are zeroed. `count` gives
/// `seq_lost` (see [`Sink::take`]). An element smaller than the struct, or misaligned, is filled
/// through a local packet and copied (the extensible-struct rule).
///
/// # Safety
/// `elem` must be valid for writes of `size` bytes and not otherwise accessed during the call.
#[inline]
pub unsafe fn decode_into_element(
    elem: *mut u8,
    size: usize,
    kind: RecordKind,
    msg: &[u8],
    meta: &Received,
    count: impl FnOnce(u32, Option<u32>) -> u64,
) -> std::result::Result<(), DecodeError> {
    let whole = size_of::<psample_packet>();
    let fill = |pkt: &mut psample_packet| -> std::result::Result<(), DecodeError> {
        decode_attrs_into(msg, pkt)?;
        let has_seq = pkt.fields & (1 << crate::attr::GROUP_SEQ) != 0;
        pkt.seq_lost = count(pkt.group, has_seq.then_some(pkt.group_seq));
        Ok(())
    };
    let pkt = elem.cast::<psample_packet>();
    if size >= whole && (elem as usize) % std::mem::align_of::<psample_packet>() == 0 {
        // SAFETY: `elem` is writable for `size >= whole` bytes (caller contract) and aligned.
        unsafe { pkt.write(packet_start(kind, meta)) };
        // SAFETY: just initialised, aligned, and nothing else touches it during the call (caller
        // contract), so this is the only reference.
        fill(unsafe { &mut *pkt })?;
        if size > whole {
            // SAFETY: bytes `whole..size` are inside the caller's element.
            unsafe { elem.add(whole).write_bytes(0, size - whole) };
        }
    } else {
        let mut local = packet_start(kind, meta);
        fill(&mut local)?;
        // SAFETY: `elem` is writable for `size` bytes (caller contract).
        unsafe { write_extensible(&local, elem, size) };
    }
    Ok(())
}

/// psample_recv()'s sink: the caller's array of `n` elements of `size` bytes, filled in order.
pub struct PacketArray {
    base: *mut u8,
    n: usize,
    size: usize,
    filled: usize,
}

impl PacketArray {
    /// # Safety
    /// `base` must be valid for writes of `n * size` bytes, not otherwise accessed while this lives.
    pub unsafe fn new(base: *mut u8, n: usize, size: usize) -> Self {
        PacketArray { base, n, size, filled: 0 }
    }

    pub fn filled(&self) -> usize {
        self.filled
    }
}

impl Sink for PacketArray {
    #[inline]
    fn take(
        &mut self,
        kind: RecordKind,
        msg: &[u8],
        meta: Received,
        count: impl FnOnce(u32, Option<u32>) -> u64,
    ) -> std::result::Result<(), DecodeError> {
        if self.filled >= self.n {
            return Ok(()); // recv_into() reads at most `n` datagrams: not reached
        }
        // SAFETY: element `filled < n` lies inside the caller's `n * size` writable bytes
        // (`new`'s contract), which nothing else touches meanwhile.
        unsafe {
            let elem = self.base.add(self.filled * self.size);
            decode_into_element(elem, self.size, kind, msg, &meta, count)?;
        }
        self.filled += 1;
        Ok(())
    }
}

/// Turns a `psample_opts` (already copied in, zero-extended) into core options; `groups` is the
/// caller's group list, already read. Only the C encoding is checked here (unknown flag bits,
/// non-zero reserved bytes); every rule about the values is `Options::validate`'s.
pub fn options_from_c(o: &psample_opts, groups: Vec<u32>) -> Result<Options> {
    let f = o.flags;
    if f & !PSAMPLE_SUB_ALL_FLAGS != 0 || o.reserved != 0 {
        return Err(Errno(libc::EINVAL));
    }
    Ok(Options {
        nonblocking: f & PSAMPLE_SUB_NONBLOCK != 0,
        rcvbuf: o.rcvbuf,
        enobufs: f & PSAMPLE_SUB_ENOBUFS != 0,
        groups,
        netns: netns_from_c(o)?.map(Arc::new),
        all_netns: f & PSAMPLE_SUB_ALL_NETNS != 0,
        accept_userspace: f & PSAMPLE_SUB_ACCEPT_USERSPACE != 0,
        config_events: f & PSAMPLE_SUB_CONFIG_EVENTS != 0,
        no_samples: f & PSAMPLE_SUB_NO_SAMPLES != 0,
        resubscribe: f & PSAMPLE_SUB_RESUBSCRIBE != 0,
        wait_family: f & PSAMPLE_SUB_WAIT_FAMILY != 0,
        batch: o.batch,
    })
}

/// A duplicate of the namespace fd of `opts`, when `PSAMPLE_SUB_NETNS_FD` is set: the core owns
/// what it holds, and the caller keeps (and closes) its own descriptor. `EBADF` when it is not
/// an open descriptor (negative, or closed).
pub fn netns_from_c(o: &psample_opts) -> Result<Option<OwnedFd>> {
    if o.flags & PSAMPLE_SUB_NETNS_FD == 0 {
        return Ok(None);
    }
    if o.netns_fd < 0 {
        return Err(Errno(libc::EBADF));
    }
    // SAFETY: F_DUPFD_CLOEXEC reads only its integer arguments; a closed fd gives EBADF.
    let dup = unsafe { libc::fcntl(o.netns_fd, libc::F_DUPFD_CLOEXEC, 0) };
    if dup < 0 {
        return Err(Errno::last_os_error());
    }
    // SAFETY: `dup` is a fresh descriptor that nothing else owns.
    Ok(Some(unsafe { OwnedFd::from_raw_fd(dup) }))
}

/// `stats_to_c(st, size)`: the C stats with `size` set, one line per field of
/// [`Stats`](crate::Stats), generated from its field list.
macro_rules! define_stats_to_c {
    ($($(#[$doc:meta])* $field:ident: $ty:ty,)*) => {
        pub fn stats_to_c(st: &Stats, size: usize) -> psample_stats {
            psample_stats { size, $($field: st.$field,)* }
        }
    };
}

stats_fields!(define_stats_to_c);

pub fn group_to_c(g: &GroupInfo) -> psample_group_info {
    psample_group_info { group: g.group, refcount: g.refcount, next_seq: g.next_seq, reserved: 0 }
}

pub fn group_stats_to_c(g: &GroupStats) -> psample_group_stats {
    psample_group_stats {
        delivered: g.delivered,
        seq_lost: g.seq_lost,
        nsid: g.nsid,
        group: g.group,
        last_seq: g.last_seq,
        reserved: 0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::uapi::attr;

    /// A sample message: group 7, sequence number 9, 3 bytes of data.
    fn message() -> Vec<u8> {
        let mut m = vec![0u8; 20];
        m[4..6].copy_from_slice(&0x20u16.to_ne_bytes()); // a family id above the controller's
        for (ty, payload) in [
            (attr::SAMPLE_GROUP, &7u32.to_ne_bytes()[..]),
            (attr::GROUP_SEQ, &9u32.to_ne_bytes()),
            (attr::DATA, &[1, 2, 3]),
        ] {
            m.extend_from_slice(&(4 + payload.len() as u16).to_ne_bytes());
            m.extend_from_slice(&ty.to_ne_bytes());
            m.extend_from_slice(payload);
            m.resize((m.len() + 3) & !3, 0);
        }
        let len = m.len() as u32;
        m[0..4].copy_from_slice(&len.to_ne_bytes());
        m
    }

    fn decode_at(buf: &mut [u8], offset: usize, size: usize, msg: &[u8]) -> psample_packet {
        let meta = Received { len: msg.len(), sender_portid: 0, nsid: 3, truncated: false };
        // SAFETY: `offset + size <= buf.len()` (asserted), a buffer only this call touches.
        assert!(offset + size <= buf.len());
        unsafe {
            decode_into_element(buf.as_mut_ptr().add(offset), size, RecordKind::Sample, msg, &meta, |g, s| {
                u64::from(g + s.unwrap_or(0))
            })
        }
        .unwrap();
        // SAFETY: reads the packet's bytes (at least V1 of them) without assuming alignment.
        let mut out: psample_packet = unsafe { std::mem::zeroed() };
        let n = size.min(size_of::<psample_packet>());
        // SAFETY: `n` bytes inside `buf` to `n` bytes inside `out`.
        unsafe { std::ptr::copy_nonoverlapping(buf.as_ptr().add(offset), (&mut out as *mut psample_packet).cast(), n) };
        out
    }

    #[test]
    fn element_is_filled_in_place_aligned_misaligned_and_short() {
        let msg = message();
        let whole = size_of::<psample_packet>();
        for (offset, size) in [(0, whole), (0, whole + 24), (1, whole), (0, PSAMPLE_PACKET_SIZE_V1)] {
            let mut words = vec![u64::MAX; (whole + 64) / 8]; // aligned storage, filled with junk
                                                              // SAFETY: a u64 buffer viewed as its bytes.
            let buf = unsafe { std::slice::from_raw_parts_mut(words.as_mut_ptr().cast::<u8>(), words.len() * 8) };
            let p = decode_at(buf, offset, size, &msg);
            assert_eq!(
                (p.group, p.group_seq, p.data_len, p.nsid, p.kind, p.flags),
                (7, 9, 3, 3, 0, 0),
                "{offset} {size}"
            );
            assert_eq!(p.fields, (1 << attr::SAMPLE_GROUP) | (1 << attr::GROUP_SEQ) | (1 << attr::DATA));
            assert_eq!((p.rate, p.timestamp_ns, p.tunnel.fields, p.user_cookie), (0, 0, 0, std::ptr::null()));
            if size >= whole {
                assert_eq!(p.seq_lost, 16, "count's result lands in seq_lost");
            }
            assert!(buf[offset + whole.min(size)..offset + size].iter().all(|b| *b == 0), "tail zeroed");
            assert!(buf[offset + size..].iter().all(|b| *b == 0xff), "nothing written past the element");
        }
    }
}
