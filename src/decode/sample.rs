//! Decodes one psample generic netlink message in place.

use super::attrs::{flag_of, u16_of, u16_or_u32_of, u32_of, u64_of, Attrs, DecodeError};
use super::tunnel::{decode_tunnel, Tunnel};
use crate::uapi::{attr as a, cmd, ATTRS_OFFSET, NLMSG_HDRLEN};

/// What a record is: a packet sample, or a group lifecycle event from the `config` group.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
#[repr(u32)]
#[non_exhaustive]
pub enum RecordKind {
    /// A sampled packet (`PSAMPLE_CMD_SAMPLE`).
    #[default]
    Sample = 0,
    /// A sample group was created (first sampler of the group; `config_events` only).
    GroupCreated = 1,
    /// A sample group was deleted (its last sampler went away; `config_events` only).
    GroupDeleted = 2,
}

/// One decoded record. Slices borrow the bytes it was decoded from.
///
/// `fields` has bit N set when `PSAMPLE_ATTR` N was present, so an absent attribute and a zero value
/// are told apart. Integers are in host byte order. The transport fields (`nsid`, `sender_portid`,
/// `truncated`) come from the socket, not the message; `decode_message` leaves them at their
/// "none" values.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct Sample<'a> {
    /// A packet sample or a group event.
    pub kind: RecordKind,
    /// Bit N set when attribute N ([`attr`](crate::attr)) was present; see [`has`](Sample::has).
    pub fields: u64,
    /// Input interface index (0 when none).
    pub iifindex: u32,
    /// Output interface index (0 when none).
    pub oifindex: u32,
    /// Length of the packet on the wire; `data` may be shorter (truncated by the sampler).
    pub orig_size: u32,
    /// The sample group (tc's `group`).
    pub group: u32,
    /// The group's sequence number of this sample.
    pub group_seq: u32,
    /// Sampling rate "1 in N", or a probability with `SAMPLE_PROBABILITY`: see
    /// [`one_in_n`](Sample::one_in_n).
    pub rate: u32,
    /// Samplers using the group (group events).
    pub group_refcount: u32,
    /// Output traffic class (switch drivers).
    pub out_tc: u16,
    /// Protocol of `data` (`ETH_P_*`, host order) when the producer sets it.
    pub proto: u16,
    /// Occupancy of the output traffic class queue, bytes (switch drivers).
    pub out_tc_occ: u64,
    /// Latency through the device, nanoseconds (switch drivers).
    pub latency_ns: u64,
    /// When the packet was sampled, nanoseconds (`CLOCK_REALTIME` as the kernel reports it).
    pub timestamp_ns: u64,
    /// The packet's bytes, from the link layer header on, truncated as the sampler was told.
    pub data: &'a [u8],
    /// The sampler's cookie (tc action cookie, OVS's user cookie).
    pub user_cookie: &'a [u8],
    /// The tunnel key of a decapsulated packet.
    pub tunnel: Tunnel<'a>,
    /// Source network namespace id (`NETLINK_LISTEN_ALL_NSID`), -1 when none.
    pub nsid: i32,
    /// Netlink port id of the sender: 0 for the kernel.
    pub sender_portid: u32,
    /// The datagram did not fit the receive buffer (never expected: buffers hold the largest sample).
    pub truncated: bool,
    /// Samples of this (nsid, group) missed between the previous one the subscription received
    /// and this one, by `group_seq` (set by the subscription; 0 from `decode_message`).
    pub seq_lost: u64,
}

impl Default for Sample<'_> {
    fn default() -> Self {
        Sample {
            kind: RecordKind::Sample,
            fields: 0,
            iifindex: 0,
            oifindex: 0,
            orig_size: 0,
            group: 0,
            group_seq: 0,
            rate: 0,
            group_refcount: 0,
            out_tc: 0,
            proto: 0,
            out_tc_occ: 0,
            latency_ns: 0,
            timestamp_ns: 0,
            data: &[],
            user_cookie: &[],
            tunnel: Tunnel::default(),
            nsid: -1,
            sender_portid: 0,
            truncated: false,
            seq_lost: 0,
        }
    }
}

impl Sample<'_> {
    /// Whether attribute `attr` ([`attr`](crate::attr)) was present.
    pub fn has(&self, attr: u16) -> bool {
        attr < 64 && self.fields & (1 << attr) != 0
    }

    /// The sampling rate as "1 in N" whatever the producer sent: when `SAMPLE_PROBABILITY` is set,
    /// `rate` is a probability scaled to 0..=u32::MAX and is turned into the nearest N (0 when the
    /// probability is 0: nothing is sampled).
    pub fn one_in_n(&self) -> u32 {
        effective_rate(self.rate, self.has(a::SAMPLE_PROBABILITY))
    }
}

/// The rate as "1 in N" from the raw attribute: see [`Sample::one_in_n`].
pub fn effective_rate(rate: u32, is_probability: bool) -> u32 {
    if !is_probability {
        return rate;
    }
    if rate == 0 {
        return 0;
    }
    let n = (u64::from(u32::MAX) + u64::from(rate) / 2) / u64::from(rate);
    n.clamp(1, u64::from(u32::MAX)) as u32
}

/// Length of the OVS local-sampling cookie: observation domain id then observation point id.
pub const OVS_COOKIE_LEN: usize = 8;

/// The OVS local-sampling cookie (the psample action's user cookie, `struct psample_metadata`'s
/// two 32-bit ids in network order, as OVS writes them) as `(obs_domain_id, obs_point_id)` in
/// host order. `None` unless the cookie is exactly 8 bytes.
pub fn ovs_cookie(user_cookie: &[u8]) -> Option<(u32, u32)> {
    let bytes: [u8; OVS_COOKIE_LEN] = user_cookie.try_into().ok()?;
    let [d0, d1, d2, d3, p0, p1, p2, p3] = bytes;
    Some((u32::from_be_bytes([d0, d1, d2, d3]), u32::from_be_bytes([p0, p1, p2, p3])))
}

/// The netlink and genetlink headers of a message: `(nlmsg_type, genl cmd, message bytes)`.
/// `bytes` may hold more after the message; the returned slice is cut to `nlmsg_len`.
pub fn split_header(bytes: &[u8]) -> Result<(u16, u8, &[u8]), DecodeError> {
    if bytes.len() < ATTRS_OFFSET {
        return Err(DecodeError::ShortHeader);
    }
    let len = u32::from_ne_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]) as usize;
    if len < ATTRS_OFFSET || len > bytes.len() {
        return Err(DecodeError::BadMessageLength);
    }
    let ty = u16::from_ne_bytes([bytes[4], bytes[5]]);
    Ok((ty, bytes[NLMSG_HDRLEN], &bytes[..len]))
}

/// Decodes one psample message (`PSAMPLE_CMD_SAMPLE`, or a `NEW_GROUP`/`DEL_GROUP` event).
///
/// The family id is not checked here (a capture may come from another boot); the receive loop
/// checks it. Unknown attributes and `PAD` are skipped; attribute order is not assumed.
pub fn decode_message(bytes: &[u8]) -> Result<Sample<'_>, DecodeError> {
    let (ty, command, msg) = split_header(bytes)?;
    decode_split(ty, command, msg)
}

/// `decode_message` for a message whose headers `split_header` already read.
pub fn decode_split(ty: u16, command: u8, msg: &[u8]) -> Result<Sample<'_>, DecodeError> {
    let mut s = Sample { kind: record_kind(ty, command)?, ..Sample::default() };
    decode_attrs_into(msg, &mut s)?;
    Ok(s)
}

/// What a message is, from its headers: `NotPsample` for netlink control messages, the genl
/// controller and commands psample does not multicast.
#[inline]
pub fn record_kind(ty: u16, command: u8) -> Result<RecordKind, DecodeError> {
    if ty <= crate::uapi::ctrl::FAMILY_ID {
        return Err(DecodeError::NotPsample); // NLMSG_NOOP/ERROR/DONE/OVERRUN, or the genl controller
    }
    match command {
        cmd::SAMPLE => Ok(RecordKind::Sample),
        cmd::NEW_GROUP => Ok(RecordKind::GroupCreated),
        cmd::DEL_GROUP => Ok(RecordKind::GroupDeleted),
        _ => Err(DecodeError::NotPsample),
    }
}

/// Where the decoder writes a record's attributes: a [`Sample`] for the Rust API, the C
/// `psample_packet` for psample_recv(), so each attribute is written once, straight into the
/// record the caller reads. The decoder sets only what is present, then the presence bits once;
/// the target holds its "absent" values (zero) before.
pub trait DecodeTarget<'a> {
    fn set_iifindex(&mut self, v: u32);
    fn set_oifindex(&mut self, v: u32);
    fn set_orig_size(&mut self, v: u32);
    fn set_group(&mut self, v: u32);
    fn set_group_seq(&mut self, v: u32);
    fn set_rate(&mut self, v: u32);
    fn set_data(&mut self, v: &'a [u8]);
    fn set_group_refcount(&mut self, v: u32);
    /// The nested tunnel attribute's payload: only called when the message has one.
    fn set_tunnel(&mut self, nest: &'a [u8]) -> Result<(), DecodeError>;
    fn set_out_tc(&mut self, v: u16);
    fn set_out_tc_occ(&mut self, v: u64);
    fn set_latency_ns(&mut self, v: u64);
    fn set_timestamp_ns(&mut self, v: u64);
    fn set_proto(&mut self, v: u16);
    fn set_user_cookie(&mut self, v: &'a [u8]);
    /// Bit N set for each attribute N present.
    fn set_fields(&mut self, fields: u64);
}

impl<'a> DecodeTarget<'a> for Sample<'a> {
    fn set_iifindex(&mut self, v: u32) {
        self.iifindex = v;
    }
    fn set_oifindex(&mut self, v: u32) {
        self.oifindex = v;
    }
    fn set_orig_size(&mut self, v: u32) {
        self.orig_size = v;
    }
    fn set_group(&mut self, v: u32) {
        self.group = v;
    }
    fn set_group_seq(&mut self, v: u32) {
        self.group_seq = v;
    }
    fn set_rate(&mut self, v: u32) {
        self.rate = v;
    }
    fn set_data(&mut self, v: &'a [u8]) {
        self.data = v;
    }
    fn set_group_refcount(&mut self, v: u32) {
        self.group_refcount = v;
    }
    fn set_tunnel(&mut self, nest: &'a [u8]) -> Result<(), DecodeError> {
        self.tunnel = decode_tunnel(nest)?;
        Ok(())
    }
    fn set_out_tc(&mut self, v: u16) {
        self.out_tc = v;
    }
    fn set_out_tc_occ(&mut self, v: u64) {
        self.out_tc_occ = v;
    }
    fn set_latency_ns(&mut self, v: u64) {
        self.latency_ns = v;
    }
    fn set_timestamp_ns(&mut self, v: u64) {
        self.timestamp_ns = v;
    }
    fn set_proto(&mut self, v: u16) {
        self.proto = v;
    }
    fn set_user_cookie(&mut self, v: &'a [u8]) {
        self.user_cookie = v;
    }
    fn set_fields(&mut self, fields: u64) {
        self.fields = fields;
    }
}

/// Decodes the attributes of `msg` (a whole message, headers included, already checked by
/// [`split_header`]) into `t`. Unknown attributes and `PAD` are skipped; order is not assumed.
/// On error `t` may hold some of the attributes.
#[inline]
pub fn decode_attrs_into<'a, T: DecodeTarget<'a>>(msg: &'a [u8], t: &mut T) -> Result<(), DecodeError> {
    let mut fields = 0u64;
    for item in Attrs::new(msg.get(ATTRS_OFFSET..).unwrap_or(&[])) {
        let (ty, p) = item?;
        match ty {
            a::IIFINDEX => t.set_iifindex(u16_or_u32_of(ty, p)?),
            a::OIFINDEX => t.set_oifindex(u16_or_u32_of(ty, p)?),
            a::ORIGSIZE => t.set_orig_size(u32_of(ty, p)?),
            a::SAMPLE_GROUP => t.set_group(u32_of(ty, p)?),
            a::GROUP_SEQ => t.set_group_seq(u32_of(ty, p)?),
            a::SAMPLE_RATE => t.set_rate(u32_of(ty, p)?),
            a::DATA => t.set_data(p),
            a::GROUP_REFCOUNT => t.set_group_refcount(u32_of(ty, p)?),
            a::TUNNEL => t.set_tunnel(p)?,
            a::OUT_TC => t.set_out_tc(u16_of(ty, p)?),
            a::OUT_TC_OCC => t.set_out_tc_occ(u64_of(ty, p)?),
            a::LATENCY => t.set_latency_ns(u64_of(ty, p)?),
            a::TIMESTAMP => t.set_timestamp_ns(u64_of(ty, p)?),
            a::PROTO => t.set_proto(u16_of(ty, p)?),
            a::USER_COOKIE => t.set_user_cookie(p),
            a::SAMPLE_PROBABILITY => flag_of(ty, p)?,
            _ => continue, // PAD and attributes newer than this library
        }
        fields |= 1 << ty;
    }
    t.set_fields(fields);
    Ok(())
}
