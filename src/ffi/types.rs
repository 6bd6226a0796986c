//! The C ABI types and constants. cbindgen copies these doc comments into `psample.h`, which is
//! the API reference. Layouts are fixed: fields are only ever appended, and callers pass their
//! `sizeof` so old programs keep working with newer libraries.

#![allow(non_camel_case_types)]

use std::os::raw::c_int;

use super::plain::no_padding;
use crate::options;
use crate::uapi::{attr, tunnel_attr};

/// Return `-EAGAIN` from psample_recv() instead of blocking (the descriptor is also made
/// nonblocking). Poll psample_fd() for POLLIN.
pub const PSAMPLE_SUB_NONBLOCK: u32 = 1;
/// Report receive-buffer overruns as a one-time `-ENOBUFS` from psample_recv(), the kernel's classic
/// behaviour. Without it (the default) `NETLINK_NO_ENOBUFS` is set: overruns are only counted
/// (psample_stats() `kernel_drops`), and one overrun does not make the kernel drop everything until
/// the queue is empty.
pub const PSAMPLE_SUB_ENOBUFS: u32 = 2;
/// Also receive samples from other network namespaces that have a namespace id in the subscriber's
/// namespace (`NETLINK_LISTEN_ALL_NSID`; needs CAP_NET_BROADCAST over them). `nsid` in each packet
/// says where it came from.
pub const PSAMPLE_SUB_ALL_NETNS: u32 = 4;
/// Also deliver samples injected into the "packets" group by userspace processes (VPP's sflow
/// plugin, test tools). By default only samples sent by the kernel (sender port id 0) are
/// delivered. Packets say which with `PSAMPLE_PKT_F_USERSPACE`.
pub const PSAMPLE_SUB_ACCEPT_USERSPACE: u32 = 8;
/// Also deliver group lifecycle events (the "config" group) through psample_recv(), as packets
/// whose `kind` is `PSAMPLE_KIND_GROUP_CREATED` or `PSAMPLE_KIND_GROUP_DELETED`.
pub const PSAMPLE_SUB_CONFIG_EVENTS: u32 = 16;
/// Do not join the "packets" group (use with `PSAMPLE_SUB_CONFIG_EVENTS` to watch groups only).
pub const PSAMPLE_SUB_NO_SAMPLES: u32 = 32;
/// Follow an unload and reload of the psample module: rejoin with the new ids on the same
/// descriptor. Without it, psample_recv() returns `-ENODEV` once the family is gone.
pub const PSAMPLE_SUB_RESUBSCRIBE: u32 = 64;
/// `opts.netns_fd` is valid: create the socket in that network namespace.
pub const PSAMPLE_SUB_NETNS_FD: u32 = 128;
/// Succeed even when psample is not loaded yet: the handle joins the "packets" group as soon as the
/// family appears (nlctrl's notify group). Until then a blocking psample_recv() waits and a
/// nonblocking one returns `-EAGAIN`; psample_stats() `joined` says which. With
/// `PSAMPLE_SUB_RESUBSCRIBE` the handle follows any sequence of unloads and loads.
pub const PSAMPLE_SUB_WAIT_FAMILY: u32 = 256;
pub(crate) const PSAMPLE_SUB_ALL_FLAGS: u32 = 511;

/// Record kind of a packet: a sampled packet.
pub const PSAMPLE_KIND_SAMPLE: u32 = 0;
/// Record kind: a psample group was created (`config` group, `PSAMPLE_SUB_CONFIG_EVENTS`).
pub const PSAMPLE_KIND_GROUP_CREATED: u32 = 1;
/// Record kind: a psample group was deleted (its last user went away).
pub const PSAMPLE_KIND_GROUP_DELETED: u32 = 2;

/// Packet flag: the datagram did not fit the receive buffer and was cut (never expected; counted
/// in psample_stats() `truncated`). `data_len` is what arrived.
pub const PSAMPLE_PKT_F_TRUNCATED: u32 = 1;
/// Packet flag: sent by a userspace process, not the kernel (`sender_portid` != 0).
pub const PSAMPLE_PKT_F_USERSPACE: u32 = 2;

/// `fields` bit: `PSAMPLE_ATTR_IIFINDEX` (0) was present.
pub const PSAMPLE_FIELD_IIFINDEX: u64 = 1;
/// `fields` bit: `PSAMPLE_ATTR_OIFINDEX` (1).
pub const PSAMPLE_FIELD_OIFINDEX: u64 = 2;
/// `fields` bit: `PSAMPLE_ATTR_ORIGSIZE` (2).
pub const PSAMPLE_FIELD_ORIGSIZE: u64 = 4;
/// `fields` bit: `PSAMPLE_ATTR_SAMPLE_GROUP` (3).
pub const PSAMPLE_FIELD_SAMPLE_GROUP: u64 = 8;
/// `fields` bit: `PSAMPLE_ATTR_GROUP_SEQ` (4).
pub const PSAMPLE_FIELD_GROUP_SEQ: u64 = 16;
/// `fields` bit: `PSAMPLE_ATTR_SAMPLE_RATE` (5).
pub const PSAMPLE_FIELD_SAMPLE_RATE: u64 = 32;
/// `fields` bit: `PSAMPLE_ATTR_DATA` (6).
pub const PSAMPLE_FIELD_DATA: u64 = 64;
/// `fields` bit: `PSAMPLE_ATTR_GROUP_REFCOUNT` (7), in group events.
pub const PSAMPLE_FIELD_GROUP_REFCOUNT: u64 = 128;
/// `fields` bit: `PSAMPLE_ATTR_TUNNEL` (8): `tunnel` is filled.
pub const PSAMPLE_FIELD_TUNNEL: u64 = 256;
/// `fields` bit: `PSAMPLE_ATTR_OUT_TC` (10).
pub const PSAMPLE_FIELD_OUT_TC: u64 = 1024;
/// `fields` bit: `PSAMPLE_ATTR_OUT_TC_OCC` (11).
pub const PSAMPLE_FIELD_OUT_TC_OCC: u64 = 2048;
/// `fields` bit: `PSAMPLE_ATTR_LATENCY` (12).
pub const PSAMPLE_FIELD_LATENCY: u64 = 4096;
/// `fields` bit: `PSAMPLE_ATTR_TIMESTAMP` (13).
pub const PSAMPLE_FIELD_TIMESTAMP: u64 = 8192;
/// `fields` bit: `PSAMPLE_ATTR_PROTO` (14).
pub const PSAMPLE_FIELD_PROTO: u64 = 16384;
/// `fields` bit: `PSAMPLE_ATTR_USER_COOKIE` (15).
pub const PSAMPLE_FIELD_USER_COOKIE: u64 = 32768;
/// `fields` bit: `PSAMPLE_ATTR_SAMPLE_PROBABILITY` (16): `rate` is a probability scaled to
/// 0..UINT32_MAX, not 1-in-N. psample_effective_rate() gives 1-in-N either way.
pub const PSAMPLE_FIELD_SAMPLE_PROBABILITY: u64 = 65536;

/// `tunnel.fields` bit: `PSAMPLE_TUNNEL_KEY_ATTR_ID` (0).
pub const PSAMPLE_TUNNEL_FIELD_ID: u32 = 1;
/// `tunnel.fields` bit: `PSAMPLE_TUNNEL_KEY_ATTR_IPV4_SRC` (1).
pub const PSAMPLE_TUNNEL_FIELD_IPV4_SRC: u32 = 2;
/// `tunnel.fields` bit: `PSAMPLE_TUNNEL_KEY_ATTR_IPV4_DST` (2).
pub const PSAMPLE_TUNNEL_FIELD_IPV4_DST: u32 = 4;
/// `tunnel.fields` bit: `PSAMPLE_TUNNEL_KEY_ATTR_TOS` (3).
pub const PSAMPLE_TUNNEL_FIELD_TOS: u32 = 8;
/// `tunnel.fields` bit: `PSAMPLE_TUNNEL_KEY_ATTR_TTL` (4).
pub const PSAMPLE_TUNNEL_FIELD_TTL: u32 = 16;
/// `tunnel.fields` bit: `PSAMPLE_TUNNEL_KEY_ATTR_DONT_FRAGMENT` (5): the DF flag is set.
pub const PSAMPLE_TUNNEL_FIELD_DONT_FRAGMENT: u32 = 32;
/// `tunnel.fields` bit: `PSAMPLE_TUNNEL_KEY_ATTR_CSUM` (6): the checksum flag is set.
pub const PSAMPLE_TUNNEL_FIELD_CSUM: u32 = 64;
/// `tunnel.fields` bit: `PSAMPLE_TUNNEL_KEY_ATTR_OAM` (7): the OAM flag is set.
pub const PSAMPLE_TUNNEL_FIELD_OAM: u32 = 128;
/// `tunnel.fields` bit: `PSAMPLE_TUNNEL_KEY_ATTR_GENEVE_OPTS` (8).
pub const PSAMPLE_TUNNEL_FIELD_GENEVE_OPTS: u32 = 256;
/// `tunnel.fields` bit: `PSAMPLE_TUNNEL_KEY_ATTR_TP_SRC` (9).
pub const PSAMPLE_TUNNEL_FIELD_TP_SRC: u32 = 512;
/// `tunnel.fields` bit: `PSAMPLE_TUNNEL_KEY_ATTR_TP_DST` (10).
pub const PSAMPLE_TUNNEL_FIELD_TP_DST: u32 = 1024;
/// `tunnel.fields` bit for `PSAMPLE_TUNNEL_KEY_ATTR_VXLAN_OPTS` (11): never set. No current kernel
/// emits VXLAN options and this library does not decode them; the name stays so programs that use
/// it still compile.
pub const PSAMPLE_TUNNEL_FIELD_VXLAN_OPTS: u32 = 2048;
/// `tunnel.fields` bit: `PSAMPLE_TUNNEL_KEY_ATTR_IPV6_SRC` (12).
pub const PSAMPLE_TUNNEL_FIELD_IPV6_SRC: u32 = 4096;
/// `tunnel.fields` bit: `PSAMPLE_TUNNEL_KEY_ATTR_IPV6_DST` (13).
pub const PSAMPLE_TUNNEL_FIELD_IPV6_DST: u32 = 8192;
/// `tunnel.fields` bit: `PSAMPLE_TUNNEL_KEY_ATTR_ERSPAN_OPTS` (15).
pub const PSAMPLE_TUNNEL_FIELD_ERSPAN_OPTS: u32 = 32768;
/// `tunnel.fields` bit: `PSAMPLE_TUNNEL_KEY_ATTR_IPV4_INFO_BRIDGE` (16): the bridge flag is set.
pub const PSAMPLE_TUNNEL_FIELD_IPV4_INFO_BRIDGE: u32 = 65536;

/// Size of the first published `struct psample_opts` (through `rcvbuf`).
pub const PSAMPLE_OPTS_SIZE_V1: usize = 16;
/// Size of the first published `struct psample_packet`; smaller `pkt_size` values are `-EINVAL`.
pub const PSAMPLE_PACKET_SIZE_V1: usize = 192;
/// Size of the first published `struct psample_stats`.
pub const PSAMPLE_STATS_SIZE_V1: usize = 96;
/// Size of the first published `struct psample_group_info`.
pub const PSAMPLE_GROUP_INFO_SIZE_V1: usize = 16;
/// Size of the first published `struct psample_group_stats`.
pub const PSAMPLE_GROUP_STATS_SIZE_V1: usize = 32;
/// Largest struct size the library accepts from a caller (`opts.size`, `pkt_size`, stats,
/// group-info and group-stats sizes): larger values are `-EINVAL`, so a garbage size is refused
/// instead of read.
pub const PSAMPLE_MAX_STRUCT_SIZE: usize = 4096;
/// Most groups `opts.groups` may list.
pub const PSAMPLE_MAX_GROUPS: u32 = 1024;
/// Largest `opts.rcvbuf` accepted (1 GiB); larger is `-EINVAL`.
pub const PSAMPLE_MAX_RCVBUF: u32 = 1073741824;
/// Largest `opts.batch` accepted.
pub const PSAMPLE_MAX_BATCH: u32 = 1024;
/// The batch used when `opts.batch` is 0.
pub const PSAMPLE_DEFAULT_BATCH: u32 = 16;
/// The receive buffer asked for when `opts.rcvbuf` is 0 (32 MiB).
pub const PSAMPLE_DEFAULT_RCVBUF: u32 = 33554432;

/// Subscription options. Zero-initialize, set `size = sizeof(struct psample_opts)`, then the
/// fields you need; a NULL `opts` means all defaults. Fields are only ever appended: the library
/// reads the first `size` bytes, treats fields beyond them as zero, and rejects (`-EINVAL`) a
/// `size` below `PSAMPLE_OPTS_SIZE_V1` or above `PSAMPLE_MAX_STRUCT_SIZE`, or non-zero bytes past
/// the fields it knows.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct psample_opts {
    /// `sizeof(struct psample_opts)` as the caller compiled it.
    pub size: usize,
    /// `PSAMPLE_SUB_*` flags; unknown bits are `-EINVAL`.
    pub flags: u32,
    /// Receive buffer to ask for, bytes (the kernel doubles it). 0: `PSAMPLE_DEFAULT_RCVBUF` (32 MiB,
    /// with `SO_RCVBUFFORCE` when privileged, else capped by net.core.rmem_max).
    pub rcvbuf: u32,
    /// Only samples (and group events) of these groups are delivered, filtered in the kernel by a
    /// socket filter. NULL or `n_groups == 0`: all groups. Copied at subscribe time.
    pub groups: *const u32,
    /// Number of entries in `groups`, at most `PSAMPLE_MAX_GROUPS`.
    pub n_groups: u32,
    /// With `PSAMPLE_SUB_NETNS_FD`: an open network namespace file (`/run/netns/NAME`,
    /// `/proc/PID/ns/net`). The socket is created there; the calling thread returns to its own
    /// namespace before psample_subscribe() returns. The library does not close it.
    pub netns_fd: i32,
    /// Datagrams read per system call, and so the most packets one psample_recv() returns.
    /// 0: `PSAMPLE_DEFAULT_BATCH` (16). At most `PSAMPLE_MAX_BATCH`. Each costs 68 KiB of buffer in the handle.
    pub batch: u32,
    /// Must be zero.
    pub reserved: u32,
}

/// The tunnel key of a sample taken after decapsulation (`PSAMPLE_ATTR_TUNNEL`). `fields` bit N
/// (`PSAMPLE_TUNNEL_FIELD_*`) is set when nested attribute N was present; for the don't-fragment,
/// checksum, OAM and bridge flags that bit is the whole value.
///
/// Byte order: `id`, `tp_src` and `tp_dst` are converted to host order; `ipv4_*` and `ipv6_*` are
/// network order, as in `struct in_addr` / `struct in6_addr`. `geneve_opts` / `erspan_opts` point
/// into the same buffer as the packet's `data` and share its lifetime.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct psample_tunnel {
    /// Tunnel id (VNI, GRE key), host order.
    pub id: u64,
    /// Geneve option bytes as sent (`struct geneve_opt` array), or NULL.
    pub geneve_opts: *const u8,
    /// ERSPAN metadata bytes (`struct erspan_metadata`), or NULL.
    pub erspan_opts: *const u8,
    /// `PSAMPLE_TUNNEL_FIELD_*` presence bits.
    pub fields: u32,
    /// Length of `geneve_opts`.
    pub geneve_opts_len: u32,
    /// Length of `erspan_opts`.
    pub erspan_opts_len: u32,
    /// Outer IPv4 source, network order.
    pub ipv4_src: [u8; 4],
    /// Outer IPv4 destination, network order.
    pub ipv4_dst: [u8; 4],
    /// Outer IPv6 source, network order.
    pub ipv6_src: [u8; 16],
    /// Outer IPv6 destination, network order.
    pub ipv6_dst: [u8; 16],
    /// Outer transport source port, host order.
    pub tp_src: u16,
    /// Outer transport destination port, host order.
    pub tp_dst: u16,
    /// Outer TOS.
    pub tos: u8,
    /// Outer TTL.
    pub ttl: u8,
    /// Zero.
    pub reserved: [u8; 6],
}

/// One received record: a packet sample, or with `PSAMPLE_SUB_CONFIG_EVENTS` a group event
/// (`kind`). Every integer is in host byte order. A value is meaningful only when its
/// `PSAMPLE_FIELD_*` bit is set in `fields`; absent values are zero.
///
/// `data`, `user_cookie` and the tunnel option pointers point into the handle's own buffers: they
/// stay valid until the next psample_recv() or psample_close() on that handle (libpcap's
/// pcap_next_ex() model). Copy what you keep. After psample_decode() they point into the caller's
/// message.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct psample_packet {
    /// Bit N set when `PSAMPLE_ATTR` N was present (`PSAMPLE_FIELD_*`).
    pub fields: u64,
    /// When the kernel took the sample: CLOCK_REALTIME, ns (a software time, kernel 5.13+).
    pub timestamp_ns: u64,
    /// End-to-end latency reported by hardware, ns.
    pub latency_ns: u64,
    /// Egress queue occupancy reported by hardware, bytes.
    pub out_tc_occ: u64,
    /// The sampled packet from its first byte (Ethernet header for tc on Ethernet-like devices),
    /// cut to the sampler's truncation size; NULL when absent.
    pub data: *const u8,
    /// The user cookie (tc action cookie, OVS observation domain and point ids), or NULL.
    pub user_cookie: *const u8,
    /// `PSAMPLE_KIND_*`.
    pub kind: u32,
    /// `PSAMPLE_PKT_F_*`.
    pub flags: u32,
    /// psample group number.
    pub group: u32,
    /// Per-group sequence number (0 from the OVS psample action). For a group event: the
    /// sequence number the group's next sample will carry.
    pub group_seq: u32,
    /// 1-in-N sampling rate, or a probability scaled to 0..UINT32_MAX when
    /// `PSAMPLE_FIELD_SAMPLE_PROBABILITY` is set; see psample_effective_rate().
    pub rate: u32,
    /// Length of the packet before truncation, bytes.
    pub orig_size: u32,
    /// Bytes at `data`.
    pub data_len: u32,
    /// Input interface index (the kernel sends 16 bits, some userspace producers 32).
    pub iifindex: u32,
    /// Output interface index.
    pub oifindex: u32,
    /// Bytes at `user_cookie` (at most 16 from the kernel).
    pub user_cookie_len: u32,
    /// Group events: the group's reference count.
    pub group_refcount: u32,
    /// Netlink port id of the sender: 0 for the kernel.
    pub sender_portid: u32,
    /// Id of the network namespace the sample came from, as seen from the subscriber's namespace
    /// (`PSAMPLE_SUB_ALL_NETNS`); -1 when none (the subscriber's own namespace).
    pub nsid: i32,
    /// Egress traffic class (hardware).
    pub out_tc: u16,
    /// Protocol of `data`: an L3 ethertype from the kernel (0x0800, 0x86dd); userspace producers
    /// may use other values (VPP: 1 for Ethernet).
    pub proto: u16,
    /// Tunnel key; valid when `PSAMPLE_FIELD_TUNNEL` is set.
    pub tunnel: psample_tunnel,
    /// Samples of this packet's (`nsid`, `group`) that this handle missed between the previous
    /// one it received and this one, by `group_seq`: 0 for the first sample of a group, for
    /// producers that always send 0 (OVS), for userspace senders, and from psample_decode().
    /// Their sum per group is psample_group_stats() `seq_lost`; over all groups, psample_stats()
    /// `seq_gaps`. (Appended after the first version: a caller whose `pkt_size` ends before it
    /// does not get it.)
    pub seq_lost: u64,
}

/// Loss accounting of one handle, from psample_stats().
#[repr(C)]
#[derive(Debug, Clone, Copy, Default)]
pub struct psample_stats {
    /// Bytes of this struct the library filled.
    pub size: usize,
    /// Samples returned by psample_recv().
    pub delivered: u64,
    /// Samples the kernel dropped on this handle's socket because its receive buffer was full
    /// (the socket's `SO_MEMINFO` drop counter): exact, in 64 bits. The kernel counts in 32 bits,
    /// which wrap; the library adds up the differences, so it stays exact as long as
    /// psample_stats() is called at least once per 2^31 drops.
    /// Wake-up tokens the kernel refuses on a full queue are not counted.
    pub kernel_drops: u64,
    /// Samples missing according to the per-(namespace, group) sequence numbers: counts losses
    /// before the socket too (e.g. a sample the kernel failed to build). Wrap-around is handled;
    /// producers that always send 0 (OVS) never count.
    pub seq_gaps: u64,
    /// Datagrams cut by a too-small buffer (never expected).
    pub truncated: u64,
    /// psample messages that failed to decode and were skipped.
    pub decode_errors: u64,
    /// `ENOBUFS` reports (only with `PSAMPLE_SUB_ENOBUFS`).
    pub enobufs: u64,
    /// Samples from userspace senders rejected by the sender policy.
    pub rejected_userspace: u64,
    /// Group events returned by psample_recv().
    pub config_events: u64,
    /// Times the psample family went away while subscribed.
    pub family_removed: u64,
    /// Times the handle followed a reload of psample by itself (`PSAMPLE_SUB_RESUBSCRIBE`).
    pub resubscribed: u64,
    /// Receive buffer in force, bytes, as the kernel accounts it.
    pub rcvbuf: u32,
    /// (namespace, group) pairs whose sequence numbers are followed.
    pub groups_tracked: u32,
    /// 1 while the handle is joined to psample's "packets" group; 0 while it waits for psample to
    /// appear (`PSAMPLE_SUB_WAIT_FAMILY`) or after the family went away. Since version 0.2 (check
    /// that `size` covers it).
    pub joined: u64,
}

/// What one handle received of one (namespace, group), from psample_group_stats().
#[repr(C)]
#[derive(Debug, Clone, Copy, Default)]
pub struct psample_group_stats {
    /// Samples of this group returned by psample_recv().
    pub delivered: u64,
    /// Samples of this group missed, by its sequence numbers: the sum of the packets' `seq_lost`.
    pub seq_lost: u64,
    /// Network namespace id the group's samples came from, -1 for the subscriber's own (as the
    /// packets' `nsid`).
    pub nsid: i32,
    /// Group number.
    pub group: u32,
    /// `group_seq` of the last sample received from the kernel (0 when none carried one).
    pub last_seq: u32,
    /// Zero.
    pub reserved: u32,
}

/// One group from psample_list_groups().
#[repr(C)]
#[derive(Debug, Clone, Copy, Default)]
pub struct psample_group_info {
    /// Group number.
    pub group: u32,
    /// Users of the group in the kernel (tc actions).
    pub refcount: u32,
    /// Sequence number the group's next sample will carry.
    pub next_seq: u32,
    /// Zero.
    pub reserved: u32,
}

// No padding anywhere: the library copies these structs to and from callers byte for byte
// (`read_extensible`, `write_extensible`), which must never copy an uninitialised byte out. A new
// field goes into its struct's list; a padded layout fails to compile here.
no_padding!(psample_opts { size, flags, rcvbuf, groups, n_groups, netns_fd, batch, reserved });
no_padding!(psample_tunnel {
    id,
    geneve_opts,
    erspan_opts,
    fields,
    geneve_opts_len,
    erspan_opts_len,
    ipv4_src,
    ipv4_dst,
    ipv6_src,
    ipv6_dst,
    tp_src,
    tp_dst,
    tos,
    ttl,
    reserved,
});
no_padding!(psample_packet {
    fields,
    timestamp_ns,
    latency_ns,
    out_tc_occ,
    data,
    user_cookie,
    kind,
    flags,
    group,
    group_seq,
    rate,
    orig_size,
    data_len,
    iifindex,
    oifindex,
    user_cookie_len,
    group_refcount,
    sender_portid,
    nsid,
    out_tc,
    proto,
    tunnel,
    seq_lost,
});
no_padding!(psample_stats {
    size,
    delivered,
    kernel_drops,
    seq_gaps,
    truncated,
    decode_errors,
    enobufs,
    rejected_userspace,
    config_events,
    family_removed,
    resubscribed,
    rcvbuf,
    groups_tracked,
    joined,
});
no_padding!(psample_group_stats { delivered, seq_lost, nsid, group, last_seq, reserved });
no_padding!(psample_group_info { group, refcount, next_seq, reserved });

// The first version ends with `tunnel`; fields appended after it keep the struct a multiple of 8.
const _: () = assert!(
    std::mem::offset_of!(psample_packet, tunnel) + std::mem::size_of::<psample_tunnel>() == PSAMPLE_PACKET_SIZE_V1
);
const _: () = assert!(std::mem::size_of::<psample_packet>() % 8 == 0);
const _: () = assert!(std::mem::size_of::<psample_group_stats>() == PSAMPLE_GROUP_STATS_SIZE_V1);
// Counters are appended after `groups_tracked`, the last field of the first version: its end
// stays at PSAMPLE_STATS_SIZE_V1, and the struct only grows.
const _: () =
    assert!(std::mem::offset_of!(psample_stats, groups_tracked) + std::mem::size_of::<u32>() == PSAMPLE_STATS_SIZE_V1);
const _: () = assert!(std::mem::size_of::<psample_stats>() >= PSAMPLE_STATS_SIZE_V1);
const _: () = assert!(std::mem::size_of::<psample_opts>() == 40);
const _: () = assert!(std::mem::size_of::<psample_group_info>() == PSAMPLE_GROUP_INFO_SIZE_V1);
const _: () = assert!(std::mem::size_of::<psample_tunnel>() == 88);
const _: () = assert!(std::mem::size_of::<c_int>() == 4);

// The limits are the core's (`crate::options`); cbindgen needs literals here, so each pair is
// asserted equal.
const _: () = assert!(PSAMPLE_MAX_GROUPS as usize == options::MAX_GROUPS);
const _: () = assert!(PSAMPLE_MAX_RCVBUF == options::MAX_RCVBUF);
const _: () = assert!(PSAMPLE_MAX_BATCH == options::MAX_BATCH);
const _: () = assert!(PSAMPLE_DEFAULT_BATCH == options::DEFAULT_BATCH);
const _: () = assert!(PSAMPLE_DEFAULT_RCVBUF == options::DEFAULT_RCVBUF);

// `fields` bit N is uapi attribute N: the decoder sets `1 << attr`, C programs test these names.
const _: () = assert!(PSAMPLE_FIELD_IIFINDEX == 1 << attr::IIFINDEX);
const _: () = assert!(PSAMPLE_FIELD_OIFINDEX == 1 << attr::OIFINDEX);
const _: () = assert!(PSAMPLE_FIELD_ORIGSIZE == 1 << attr::ORIGSIZE);
const _: () = assert!(PSAMPLE_FIELD_SAMPLE_GROUP == 1 << attr::SAMPLE_GROUP);
const _: () = assert!(PSAMPLE_FIELD_GROUP_SEQ == 1 << attr::GROUP_SEQ);
const _: () = assert!(PSAMPLE_FIELD_SAMPLE_RATE == 1 << attr::SAMPLE_RATE);
const _: () = assert!(PSAMPLE_FIELD_DATA == 1 << attr::DATA);
const _: () = assert!(PSAMPLE_FIELD_GROUP_REFCOUNT == 1 << attr::GROUP_REFCOUNT);
const _: () = assert!(PSAMPLE_FIELD_TUNNEL == 1 << attr::TUNNEL);
const _: () = assert!(PSAMPLE_FIELD_OUT_TC == 1 << attr::OUT_TC);
const _: () = assert!(PSAMPLE_FIELD_OUT_TC_OCC == 1 << attr::OUT_TC_OCC);
const _: () = assert!(PSAMPLE_FIELD_LATENCY == 1 << attr::LATENCY);
const _: () = assert!(PSAMPLE_FIELD_TIMESTAMP == 1 << attr::TIMESTAMP);
const _: () = assert!(PSAMPLE_FIELD_PROTO == 1 << attr::PROTO);
const _: () = assert!(PSAMPLE_FIELD_USER_COOKIE == 1 << attr::USER_COOKIE);
const _: () = assert!(PSAMPLE_FIELD_SAMPLE_PROBABILITY == 1 << attr::SAMPLE_PROBABILITY);
const _: () = assert!(PSAMPLE_TUNNEL_FIELD_ID == 1 << tunnel_attr::ID);
const _: () = assert!(PSAMPLE_TUNNEL_FIELD_IPV4_SRC == 1 << tunnel_attr::IPV4_SRC);
const _: () = assert!(PSAMPLE_TUNNEL_FIELD_IPV4_DST == 1 << tunnel_attr::IPV4_DST);
const _: () = assert!(PSAMPLE_TUNNEL_FIELD_TOS == 1 << tunnel_attr::TOS);
const _: () = assert!(PSAMPLE_TUNNEL_FIELD_TTL == 1 << tunnel_attr::TTL);
const _: () = assert!(PSAMPLE_TUNNEL_FIELD_DONT_FRAGMENT == 1 << tunnel_attr::DONT_FRAGMENT);
const _: () = assert!(PSAMPLE_TUNNEL_FIELD_CSUM == 1 << tunnel_attr::CSUM);
const _: () = assert!(PSAMPLE_TUNNEL_FIELD_OAM == 1 << tunnel_attr::OAM);
const _: () = assert!(PSAMPLE_TUNNEL_FIELD_GENEVE_OPTS == 1 << tunnel_attr::GENEVE_OPTS);
const _: () = assert!(PSAMPLE_TUNNEL_FIELD_TP_SRC == 1 << tunnel_attr::TP_SRC);
const _: () = assert!(PSAMPLE_TUNNEL_FIELD_TP_DST == 1 << tunnel_attr::TP_DST);
const _: () = assert!(PSAMPLE_TUNNEL_FIELD_VXLAN_OPTS == 1 << tunnel_attr::VXLAN_OPTS);
const _: () = assert!(PSAMPLE_TUNNEL_FIELD_IPV6_SRC == 1 << tunnel_attr::IPV6_SRC);
const _: () = assert!(PSAMPLE_TUNNEL_FIELD_IPV6_DST == 1 << tunnel_attr::IPV6_DST);
const _: () = assert!(PSAMPLE_TUNNEL_FIELD_ERSPAN_OPTS == 1 << tunnel_attr::ERSPAN_OPTS);
const _: () = assert!(PSAMPLE_TUNNEL_FIELD_IPV4_INFO_BRIDGE == 1 << tunnel_attr::IPV4_INFO_BRIDGE);
