//! Builds psample messages byte for byte the way `net/psample/psample.c` does, for the decoder
//! tests, the property tests, the benchmark and the fuzz seeds.
#![allow(clippy::option_map_unit_fn)] // `v.map(|v| put(v))` reads as "emit when present"

use psample::__private::cmd;
use psample::{attr as a, tunnel_attr as t};

/// A dynamic generic netlink family id, as the kernel might hand out for "psample".
pub const FAMILY: u16 = 0x1c;
pub const NLA_F_NESTED: u16 = 0x8000;

/// One netlink message under construction: `nlmsghdr`, `genlmsghdr`, then attributes.
pub struct Msg {
    pub buf: Vec<u8>,
    nests: Vec<usize>,
    /// Emit a zero-length PAD before 64-bit payloads that would be misaligned, as
    /// `nla_put_u64_64bit` does on arches without efficient unaligned access (not x86-64).
    pub align64: bool,
    /// Byte written into attribute padding: the kernel leaves DATA's padding uninitialised.
    pub pad_byte: u8,
}

impl Msg {
    pub fn new(nl_type: u16, command: u8, pid: u32) -> Msg {
        let mut buf = Vec::with_capacity(2048);
        buf.extend_from_slice(&0u32.to_ne_bytes()); // nlmsg_len, set by finish()
        buf.extend_from_slice(&nl_type.to_ne_bytes());
        buf.extend_from_slice(&0u16.to_ne_bytes()); // flags
        buf.extend_from_slice(&0u32.to_ne_bytes()); // seq
        buf.extend_from_slice(&pid.to_ne_bytes());
        buf.extend_from_slice(&[command, 1, 0, 0]); // cmd, version 1, reserved
        Msg { buf, nests: Vec::new(), align64: false, pad_byte: 0 }
    }

    pub fn sample() -> Msg {
        Msg::new(FAMILY, cmd::SAMPLE, 0)
    }

    /// Appends one attribute; returns the offset of its payload.
    pub fn put(&mut self, ty: u16, payload: &[u8]) -> usize {
        self.buf.extend_from_slice(&((4 + payload.len()) as u16).to_ne_bytes());
        self.buf.extend_from_slice(&ty.to_ne_bytes());
        let at = self.buf.len();
        self.buf.extend_from_slice(payload);
        while self.buf.len() % 4 != 0 {
            self.buf.push(self.pad_byte);
        }
        at
    }
    pub fn flag(&mut self, ty: u16) {
        self.put(ty, &[]);
    }
    pub fn u8(&mut self, ty: u16, v: u8) {
        self.put(ty, &[v]);
    }
    pub fn u16(&mut self, ty: u16, v: u16) {
        self.put(ty, &v.to_ne_bytes());
    }
    pub fn u32(&mut self, ty: u16, v: u32) {
        self.put(ty, &v.to_ne_bytes());
    }
    /// `nla_put_u64_64bit(skb, ty, v, pad)`; pass `v.to_be()` for `nla_put_be64`.
    pub fn u64(&mut self, ty: u16, v: u64, pad: u16) {
        if self.align64 && (self.buf.len() + 4) % 8 != 0 {
            self.flag(pad);
        }
        self.put(ty, &v.to_ne_bytes());
    }
    pub fn begin(&mut self, ty: u16) {
        self.nests.push(self.buf.len());
        self.put(ty, &[]);
    }
    pub fn end(&mut self) {
        let start = self.nests.pop().expect("end without begin");
        let len = (self.buf.len() - start) as u16;
        self.buf[start..start + 2].copy_from_slice(&len.to_ne_bytes());
    }
    pub fn finish(mut self) -> Vec<u8> {
        assert!(self.nests.is_empty(), "unclosed nest");
        let len = self.buf.len() as u32;
        self.buf[0..4].copy_from_slice(&len.to_ne_bytes());
        self.buf
    }
}

/// The values of one sample; `None` (or `false`) is an attribute left out.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Spec {
    pub iif: Option<u32>,
    pub oif: Option<u32>,
    /// Send ifindexes as 4 bytes (VPP) rather than 2 (kernel).
    pub wide_ifindex: bool,
    pub rate: Option<u32>,
    pub orig_size: Option<u32>,
    pub group: Option<u32>,
    pub seq: Option<u32>,
    pub refcount: Option<u32>,
    pub out_tc: Option<u16>,
    pub occ: Option<u64>,
    pub latency: Option<u64>,
    pub timestamp: Option<u64>,
    pub proto: Option<u16>,
    pub data: Option<Vec<u8>>,
    pub tunnel: Option<TunSpec>,
    pub cookie: Option<Vec<u8>>,
    pub probability: bool,
}

/// The values of a tunnel key nest.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct TunSpec {
    pub id: Option<u64>,
    pub bridge: bool,
    pub ipv4_src: Option<[u8; 4]>,
    pub ipv4_dst: Option<[u8; 4]>,
    pub ipv6_src: Option<[u8; 16]>,
    pub ipv6_dst: Option<[u8; 16]>,
    pub tos: Option<u8>,
    pub ttl: Option<u8>,
    pub df: bool,
    pub csum: bool,
    pub tp_src: Option<u16>,
    pub tp_dst: Option<u16>,
    pub oam: bool,
    pub geneve: Option<Vec<u8>>,
    pub erspan: Option<Vec<u8>>,
}

impl Spec {
    /// Encodes in the order of `psample_sample_packet()`.
    pub fn encode(&self, m: &mut Msg) {
        let ifindex = |m: &mut Msg, ty, v: u32| match self.wide_ifindex {
            true => m.u32(ty, v),
            false => m.u16(ty, v as u16),
        };
        self.iif.map(|v| ifindex(m, a::IIFINDEX, v));
        self.oif.map(|v| ifindex(m, a::OIFINDEX, v));
        self.rate.map(|v| m.u32(a::SAMPLE_RATE, v));
        self.orig_size.map(|v| m.u32(a::ORIGSIZE, v));
        self.group.map(|v| m.u32(a::SAMPLE_GROUP, v));
        self.refcount.map(|v| m.u32(a::GROUP_REFCOUNT, v));
        self.seq.map(|v| m.u32(a::GROUP_SEQ, v));
        self.out_tc.map(|v| m.u16(a::OUT_TC, v));
        self.occ.map(|v| m.u64(a::OUT_TC_OCC, v, a::PAD));
        self.latency.map(|v| m.u64(a::LATENCY, v, a::PAD));
        self.timestamp.map(|v| m.u64(a::TIMESTAMP, v, a::PAD));
        self.proto.map(|v| m.u16(a::PROTO, v));
        if let Some(d) = &self.data {
            m.put(a::DATA, d);
        }
        if let Some(tun) = &self.tunnel {
            m.begin(a::TUNNEL);
            tun.encode(m);
            m.end();
        }
        if let Some(c) = &self.cookie {
            m.put(a::USER_COOKIE, c);
        }
        if self.probability {
            m.flag(a::SAMPLE_PROBABILITY);
        }
    }

    pub fn to_bytes(&self) -> Vec<u8> {
        let mut m = Msg::sample();
        self.encode(&mut m);
        m.finish()
    }

    /// The `Sample::fields` the decoder should report.
    pub fn fields(&self) -> u64 {
        let bits = [
            (a::IIFINDEX, self.iif.is_some()),
            (a::OIFINDEX, self.oif.is_some()),
            (a::SAMPLE_RATE, self.rate.is_some()),
            (a::ORIGSIZE, self.orig_size.is_some()),
            (a::SAMPLE_GROUP, self.group.is_some()),
            (a::GROUP_REFCOUNT, self.refcount.is_some()),
            (a::GROUP_SEQ, self.seq.is_some()),
            (a::OUT_TC, self.out_tc.is_some()),
            (a::OUT_TC_OCC, self.occ.is_some()),
            (a::LATENCY, self.latency.is_some()),
            (a::TIMESTAMP, self.timestamp.is_some()),
            (a::PROTO, self.proto.is_some()),
            (a::DATA, self.data.is_some()),
            (a::TUNNEL, self.tunnel.is_some()),
            (a::USER_COOKIE, self.cookie.is_some()),
            (a::SAMPLE_PROBABILITY, self.probability),
        ];
        bits.iter().filter(|b| b.1).fold(0, |f, b| f | 1 << b.0)
    }
}

impl TunSpec {
    /// Encodes in the order of `__psample_ip_tun_to_nlattr()`.
    pub fn encode(&self, m: &mut Msg) {
        self.id.map(|v| m.u64(t::ID, v.to_be(), t::PAD));
        if self.bridge {
            m.flag(t::IPV4_INFO_BRIDGE);
        }
        self.ipv4_src.map(|v| m.put(t::IPV4_SRC, &v));
        self.ipv4_dst.map(|v| m.put(t::IPV4_DST, &v));
        self.ipv6_src.map(|v| m.put(t::IPV6_SRC, &v));
        self.ipv6_dst.map(|v| m.put(t::IPV6_DST, &v));
        self.tos.map(|v| m.u8(t::TOS, v));
        self.ttl.map(|v| m.u8(t::TTL, v));
        for (on, ty) in [(self.df, t::DONT_FRAGMENT), (self.csum, t::CSUM)] {
            if on {
                m.flag(ty);
            }
        }
        self.tp_src.map(|v| m.u16(t::TP_SRC, v.to_be()));
        self.tp_dst.map(|v| m.u16(t::TP_DST, v.to_be()));
        if self.oam {
            m.flag(t::OAM);
        }
        if let Some(o) = &self.geneve {
            m.put(t::GENEVE_OPTS, o);
        }
        if let Some(o) = &self.erspan {
            m.put(t::ERSPAN_OPTS, o);
        }
    }

    /// The `Tunnel::fields` the decoder should report.
    pub fn fields(&self) -> u32 {
        let bits = [
            (t::ID, self.id.is_some()),
            (t::IPV4_INFO_BRIDGE, self.bridge),
            (t::IPV4_SRC, self.ipv4_src.is_some()),
            (t::IPV4_DST, self.ipv4_dst.is_some()),
            (t::IPV6_SRC, self.ipv6_src.is_some()),
            (t::IPV6_DST, self.ipv6_dst.is_some()),
            (t::TOS, self.tos.is_some()),
            (t::TTL, self.ttl.is_some()),
            (t::DONT_FRAGMENT, self.df),
            (t::CSUM, self.csum),
            (t::TP_SRC, self.tp_src.is_some()),
            (t::TP_DST, self.tp_dst.is_some()),
            (t::OAM, self.oam),
            (t::GENEVE_OPTS, self.geneve.is_some()),
            (t::ERSPAN_OPTS, self.erspan.is_some()),
        ];
        bits.iter().filter(|b| b.1).fold(0, |f, b| f | 1 << b.0)
    }
}

/// An Ethernet/IPv4/UDP-looking packet of `len` bytes (contents only matter for equality).
pub fn packet(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i * 7 + 3) as u8).collect()
}

/// A sample as the kernel emits it from `tc sample` on x86-64: no tunnel, no cookie.
pub fn kernel_sample(data_len: usize) -> Spec {
    Spec {
        iif: Some(2),
        rate: Some(100),
        orig_size: Some(data_len as u32 + 14),
        group: Some(7),
        seq: Some(41),
        timestamp: Some(1_700_000_000_123_456_789),
        proto: Some(0x0800),
        data: Some(packet(data_len)),
        ..Spec::default()
    }
}

/// Every tunnel key attribute (the kernel emits IPv4 or IPv6 addresses, not both).
pub fn full_tunnel() -> TunSpec {
    TunSpec {
        id: Some(0x0102030405060708),
        bridge: true,
        ipv4_src: Some([192, 0, 2, 1]),
        ipv4_dst: Some([198, 51, 100, 2]),
        ipv6_src: Some([0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1]),
        ipv6_dst: Some([0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2]),
        tos: Some(0xb8),
        ttl: Some(64),
        df: true,
        csum: true,
        tp_src: Some(0xc000),
        tp_dst: Some(6081),
        oam: true,
        geneve: Some(vec![0x01, 0x02, 0x80, 0x01, 0xde, 0xad, 0xbe, 0xef]),
        erspan: Some(vec![0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x2a]),
    }
}

/// Inputs the fuzzer starts from: (file name, bytes).
pub fn seeds() -> Vec<(&'static str, Vec<u8>)> {
    let mut tunnel = kernel_sample(60);
    tunnel.tunnel = Some(full_tunnel());
    tunnel.cookie = Some(vec![0xc0, 0x0c, 0x1e, 0x01, 0x02]);
    tunnel.probability = true;
    let mut full = kernel_sample(128);
    (full.oif, full.out_tc, full.occ, full.latency) = (Some(3), Some(5), Some(1 << 33), Some(12345));
    let mut aligned = Msg::sample();
    aligned.align64 = true;
    full.encode(&mut aligned);
    let group = |c, rc| {
        let mut m = Msg::new(FAMILY, c, 0);
        Spec { group: Some(7), refcount: Some(rc), seq: Some(41), ..Spec::default() }.encode(&mut m);
        m.finish()
    };
    vec![
        ("kernel-sample", full.to_bytes()),
        ("kernel-sample-pad64", aligned.finish()),
        ("tunnel-sample", tunnel.to_bytes()),
        ("vpp-sample", vpp_bytes(&vpp_sample())),
        ("group-new", group(cmd::NEW_GROUP, 1)),
        ("group-del", group(cmd::DEL_GROUP, 0)),
    ]
}

/// What VPP's sflow plugin reports: ifindexes beyond u16, PROTO 1, no timestamp.
pub fn vpp_sample() -> Spec {
    Spec { iif: Some(70_000), oif: Some(70_001), proto: Some(1), timestamp: None, ..kernel_sample(64) }
}

/// A sample as VPP's sflow plugin sends it: its own port id, its own attribute order.
pub fn vpp_bytes(s: &Spec) -> Vec<u8> {
    let mut m = Msg::new(FAMILY, cmd::SAMPLE, 0x1234_5678);
    s.group.map(|v| m.u32(a::SAMPLE_GROUP, v));
    s.rate.map(|v| m.u32(a::SAMPLE_RATE, v));
    s.orig_size.map(|v| m.u32(a::ORIGSIZE, v));
    s.seq.map(|v| m.u32(a::GROUP_SEQ, v));
    s.iif.map(|v| m.u32(a::IIFINDEX, v));
    s.oif.map(|v| m.u32(a::OIFINDEX, v));
    s.proto.map(|v| m.u16(a::PROTO, v));
    if let Some(d) = &s.data {
        m.put(a::DATA, d);
    }
    m.finish()
}
