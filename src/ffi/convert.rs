//! Conversions between the C structs and the safe core's types.

use super::types::*;
use crate::decode::{Sample, Tunnel};
use crate::error::{Errno, Result};
use crate::options::Options;
use crate::stats::{stats_fields, GroupStats, Stats};
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

pub fn packet_to_c(s: &Sample<'_>) -> psample_packet {
    let mut flags = 0;
    if s.truncated {
        flags |= PSAMPLE_PKT_F_TRUNCATED;
    }
    if s.sender_portid != 0 {
        flags |= PSAMPLE_PKT_F_USERSPACE;
    }
    psample_packet {
        fields: s.fields,
        timestamp_ns: s.timestamp_ns,
        latency_ns: s.latency_ns,
        out_tc_occ: s.out_tc_occ,
        data: ptr_or_null(s.data),
        user_cookie: ptr_or_null(s.user_cookie),
        kind: s.kind as u32,
        flags,
        group: s.group,
        group_seq: s.group_seq,
        rate: s.rate,
        orig_size: s.orig_size,
        data_len: s.data.len() as u32,
        iifindex: s.iifindex,
        oifindex: s.oifindex,
        user_cookie_len: s.user_cookie.len() as u32,
        group_refcount: s.group_refcount,
        sender_portid: s.sender_portid,
        nsid: s.nsid,
        out_tc: s.out_tc,
        proto: s.proto,
        tunnel: tunnel_to_c(&s.tunnel),
        seq_lost: s.seq_lost,
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
        netns_fd: netns_from_c(o),
        all_netns: f & PSAMPLE_SUB_ALL_NETNS != 0,
        accept_userspace: f & PSAMPLE_SUB_ACCEPT_USERSPACE != 0,
        config_events: f & PSAMPLE_SUB_CONFIG_EVENTS != 0,
        no_samples: f & PSAMPLE_SUB_NO_SAMPLES != 0,
        resubscribe: f & PSAMPLE_SUB_RESUBSCRIBE != 0,
        wait_family: f & PSAMPLE_SUB_WAIT_FAMILY != 0,
        batch: o.batch,
    })
}

/// The namespace fd of `opts`, when `PSAMPLE_SUB_NETNS_FD` is set.
pub fn netns_from_c(o: &psample_opts) -> Option<i32> {
    (o.flags & PSAMPLE_SUB_NETNS_FD != 0).then_some(o.netns_fd)
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
