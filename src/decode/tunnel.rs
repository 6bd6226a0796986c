//! Decodes the nested `PSAMPLE_ATTR_TUNNEL` (the tunnel key of a decapsulated packet).

use super::attrs::{array_of, flag_of, u16_of, u64_of, u8_of, Attrs, DecodeError};
use crate::uapi::tunnel_attr as t;

/// The tunnel key, as `__psample_ip_tun_to_nlattr()` in `net/psample/psample.c` emits it.
///
/// `id`, `tp_src` and `tp_dst` are converted to host byte order; the addresses stay in network
/// byte order, as `struct in_addr` / `struct in6_addr` hold them. `fields` has bit N set when nested
/// attribute N was present (VXLAN options are
/// skipped: no kernel emits them); the don't-fragment, checksum, OAM and bridge flags are only bits there.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct Tunnel<'a> {
    /// Bit N set when nested attribute N ([`tunnel_attr`](crate::tunnel_attr)) was present.
    pub fields: u32,
    /// Tunnel id (VNI, key), host order.
    pub id: u64,
    /// Outer IPv4 source, network order.
    pub ipv4_src: [u8; 4],
    /// Outer IPv4 destination, network order.
    pub ipv4_dst: [u8; 4],
    /// Outer IPv6 source, network order.
    pub ipv6_src: [u8; 16],
    /// Outer IPv6 destination, network order.
    pub ipv6_dst: [u8; 16],
    /// Outer TOS / traffic class.
    pub tos: u8,
    /// Outer TTL / hop limit.
    pub ttl: u8,
    /// Outer UDP source port, host order.
    pub tp_src: u16,
    /// Outer UDP destination port, host order.
    pub tp_dst: u16,
    /// Geneve options, as on the wire.
    pub geneve_opts: &'a [u8],
    /// ERSPAN options, as on the wire.
    pub erspan_opts: &'a [u8],
}

impl<'a> Tunnel<'a> {
    /// Whether nested attribute `attr` ([`tunnel_attr`](crate::tunnel_attr)) was present.
    pub fn has(&self, attr: u16) -> bool {
        attr < 32 && self.fields & (1 << attr) != 0
    }
}

/// Decodes the payload of `PSAMPLE_ATTR_TUNNEL`.
pub fn decode_tunnel(nest: &[u8]) -> Result<Tunnel<'_>, DecodeError> {
    let mut tun = Tunnel::default();
    for item in Attrs::new(nest) {
        let (ty, p) = item?;
        match ty {
            t::ID => tun.id = u64::from_be(u64_of(ty, p)?),
            t::IPV4_SRC => tun.ipv4_src = array_of(ty, p)?,
            t::IPV4_DST => tun.ipv4_dst = array_of(ty, p)?,
            t::TOS => tun.tos = u8_of(ty, p)?,
            t::TTL => tun.ttl = u8_of(ty, p)?,
            t::DONT_FRAGMENT | t::CSUM | t::OAM | t::IPV4_INFO_BRIDGE => flag_of(ty, p)?,
            t::GENEVE_OPTS => tun.geneve_opts = p,
            t::TP_SRC => tun.tp_src = u16::from_be(u16_of(ty, p)?),
            t::TP_DST => tun.tp_dst = u16::from_be(u16_of(ty, p)?),
            t::IPV6_SRC => tun.ipv6_src = array_of(ty, p)?,
            t::IPV6_DST => tun.ipv6_dst = array_of(ty, p)?,
            t::ERSPAN_OPTS => tun.erspan_opts = p,
            // PAD; VXLAN_OPTS, which the uapi defines but no kernel emits; attributes newer than this library
            _ => continue,
        }
        tun.fields |= 1 << ty;
    }
    Ok(tun)
}
