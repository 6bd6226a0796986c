//! The decoder against messages built the way the kernel (and VPP) build them.

mod support;

use psample::__private::{cmd, decode_tunnel, effective_rate, repair_truncated, Attrs};
use psample::ovs_cookie;
use psample::{attr as a, tunnel_attr as t, DecodeError, RecordKind};
use psample::{decode_message, Sample};
use support::messages::*;

fn decode(bytes: &[u8]) -> Sample<'_> {
    decode_message(bytes).unwrap_or_else(|e| panic!("{e}: {bytes:02x?}"))
}

/// Bits of every `PSAMPLE_ATTR` the decoder knows (0..=16 less PAD).
const KNOWN: u64 = 0x1ffff & !(1 << a::PAD);

#[test]
#[cfg(target_endian = "little")]
fn builder_matches_hand_written_kernel_bytes() {
    #[rustfmt::skip]
    let expected: &[u8] = &[
        0x5c, 0, 0, 0, 0x1c, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, // nlmsghdr: len 92, type 0x1c
        0, 1, 0, 0,                                           // genlmsghdr: SAMPLE, version 1
        6, 0, 0, 0, 2, 0, 0, 0,                               // IIFINDEX u16 2
        8, 0, 5, 0, 100, 0, 0, 0,                             // SAMPLE_RATE 100
        8, 0, 2, 0, 19, 0, 0, 0,                              // ORIGSIZE 19
        8, 0, 3, 0, 7, 0, 0, 0,                               // SAMPLE_GROUP 7
        8, 0, 4, 0, 41, 0, 0, 0,                              // GROUP_SEQ 41
        12, 0, 13, 0, 0x15, 0xcd, 0x85, 0x3d, 0xfe, 0x9c, 0x97, 0x17, // TIMESTAMP
        6, 0, 14, 0, 0x00, 0x08, 0, 0,                        // PROTO 0x0800
        9, 0, 6, 0, 3, 10, 17, 24, 31, 0, 0, 0,               // DATA, 5 bytes, padded
    ];
    assert_eq!(kernel_sample(5).to_bytes(), expected);
}

#[test]
fn kernel_order_with_every_attribute() {
    let mut m = Msg::sample();
    m.u16(a::IIFINDEX, 2);
    m.u16(a::OIFINDEX, 3);
    m.u32(a::SAMPLE_RATE, 100);
    m.u32(a::ORIGSIZE, 1514);
    m.u32(a::SAMPLE_GROUP, 7);
    m.u32(a::GROUP_SEQ, 41);
    m.u16(a::OUT_TC, 5);
    m.u64(a::OUT_TC_OCC, 1 << 33, a::PAD);
    m.u64(a::LATENCY, 12_345, a::PAD);
    m.u64(a::TIMESTAMP, 1_700_000_000_123_456_789, a::PAD);
    m.u16(a::PROTO, 0x86dd);
    m.pad_byte = 0xee; // DATA's padding is not zeroed by the kernel
    let data_at = m.put(a::DATA, &packet(61));
    m.pad_byte = 0;
    m.begin(a::TUNNEL);
    full_tunnel().encode(&mut m);
    m.end();
    let cookie_at = m.put(a::USER_COOKIE, &[0xc0, 0x0c, 0x1e, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13]);
    m.flag(a::SAMPLE_PROBABILITY);
    let buf = m.finish();

    let s = decode(&buf);
    assert_eq!(s.kind, RecordKind::Sample);
    assert_eq!(s.fields, 0x1fd7f); // all but GROUP_REFCOUNT (7) and PAD (9)
    assert_eq!((s.iifindex, s.oifindex, s.rate, s.orig_size), (2, 3, 100, 1514));
    assert_eq!((s.group, s.group_seq, s.group_refcount), (7, 41, 0));
    assert_eq!((s.out_tc, s.out_tc_occ, s.latency_ns), (5, 1 << 33, 12_345));
    assert_eq!((s.timestamp_ns, s.proto), (1_700_000_000_123_456_789, 0x86dd));
    assert_eq!(s.data, packet(61));
    assert_eq!(s.user_cookie, [0xc0, 0x0c, 0x1e, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13]);
    // Borrowed, not copied.
    assert_eq!(s.data.as_ptr(), buf[data_at..].as_ptr());
    assert_eq!(s.user_cookie.as_ptr(), buf[cookie_at..].as_ptr());
    assert_eq!(s.tunnel.fields, full_tunnel().fields());
    assert_eq!(s.tunnel.id, 0x0102030405060708);
    // Transport fields are the socket's business, left at "none".
    assert_eq!((s.nsid, s.sender_portid, s.truncated), (-1, 0, false));
    assert!(s.has(a::SAMPLE_PROBABILITY) && !s.has(a::GROUP_REFCOUNT) && !s.has(a::PAD) && !s.has(200));
}

fn full_spec() -> Spec {
    Spec {
        oif: Some(3),
        out_tc: Some(5),
        occ: Some(1 << 33),
        latency: Some(12_345),
        tunnel: Some(full_tunnel()),
        cookie: Some(vec![1, 2, 3]),
        probability: true,
        ..kernel_sample(61)
    }
}

#[test]
fn pad_attributes_before_64bit_values_are_skipped() {
    let spec = full_spec();
    let mut m = Msg::sample();
    m.align64 = true;
    spec.encode(&mut m);
    let padded = m.finish();
    let plain = spec.to_bytes();
    // The PADs are really there: top level and in the tunnel nest.
    let types: Vec<u16> = Attrs::new(&padded[20..]).map(|r| r.unwrap().0).collect();
    assert!(types.contains(&a::PAD), "{types:?}");
    let nest = Attrs::new(&padded[20..]).map(Result::unwrap).find(|(ty, _)| *ty == a::TUNNEL).unwrap().1;
    assert!(Attrs::new(nest).any(|r| r.unwrap().0 == t::PAD));
    assert_ne!(padded.len(), plain.len());

    assert_eq!(decode(&padded), decode(&plain));
    assert_eq!(decode(&padded).fields, spec.fields());
}

#[test]
fn unknown_attributes_are_skipped_and_set_no_bit() {
    let spec = full_spec();
    let mut m = Msg::sample();
    m.u32(17, 0xdead_beef);
    m.put(40, &[9; 7]);
    m.put(a::PAD, &[0; 4]);
    m.put(0x3fff | 0x4000, &[1, 2]);
    spec.encode(&mut m);
    m.flag(63);
    m.u32(64, 1); // would overflow a u64 shift if it were recorded
    let buf = m.finish();

    let s = decode(&buf);
    assert_eq!(s, decode(&spec.to_bytes()));
    assert_eq!(s.fields & !KNOWN, 0);

    // Same inside the tunnel nest, PAD (14) and unknowns alike.
    let mut m = Msg::sample();
    m.begin(a::TUNNEL);
    m.flag(t::PAD);
    m.put(t::PAD, &[0; 4]);
    m.u32(17, 1);
    m.u32(40, 1);
    full_tunnel().encode(&mut m);
    m.end();
    let buf = m.finish();
    let tun = decode(&buf).tunnel;
    assert_eq!(tun, decode(&full_spec().to_bytes()).tunnel);
    assert_eq!(tun.fields & !0x1ffff, 0);
    assert!(!tun.has(t::PAD));
}

#[test]
fn type_flag_bits_are_ignored() {
    let mut m = Msg::sample();
    m.u32(a::SAMPLE_GROUP | 0x4000, 9); // NLA_F_NET_BYTEORDER
    m.begin(a::TUNNEL | NLA_F_NESTED);
    m.u8(t::TTL | 0x4000, 3);
    m.end();
    let buf = m.finish();
    let s = decode(&buf);
    assert_eq!((s.group, s.tunnel.ttl), (9, 3));
    assert_eq!(s.fields, 1 << a::SAMPLE_GROUP | 1 << a::TUNNEL);
    assert_eq!(s.tunnel.fields, 1 << t::TTL);
}

/// The attributes of a message, each with its padding.
fn chunks(msg: &[u8]) -> Vec<&[u8]> {
    let mut rest = &msg[20..];
    let mut out = Vec::new();
    while !rest.is_empty() {
        let len = (u16::from_ne_bytes([rest[0], rest[1]]) as usize + 3) & !3;
        out.push(&rest[..len]);
        rest = &rest[len..];
    }
    out
}

fn reassemble(header: &[u8], attrs: &[&[u8]]) -> Vec<u8> {
    let mut out = header[..20].to_vec();
    attrs.iter().for_each(|c| out.extend_from_slice(c));
    let len = out.len() as u32;
    out[..4].copy_from_slice(&len.to_ne_bytes());
    out
}

#[test]
fn attribute_order_does_not_matter() {
    let buf = full_spec().to_bytes();
    let want = decode(&buf);
    let mut attrs = chunks(&buf);
    assert_eq!(attrs.len(), 15);
    attrs.reverse();
    assert_eq!(decode(&reassemble(&buf, &attrs)), want);
    for k in 1..attrs.len() {
        attrs.rotate_left(k);
        assert_eq!(decode(&reassemble(&buf, &attrs)), want, "rotation {k}");
    }
    // A fixed scramble: interleave from both ends.
    let scrambled: Vec<&[u8]> =
        (0..attrs.len()).map(|i| if i % 2 == 0 { attrs[i / 2] } else { attrs[attrs.len() - 1 - i / 2] }).collect();
    assert_eq!(decode(&reassemble(&buf, &scrambled)), want);
}

#[test]
fn ifindex_is_two_or_four_bytes() {
    let narrow = Spec { iif: Some(65_535), oif: Some(2), ..Spec::default() };
    let wide = Spec { wide_ifindex: true, ..narrow.clone() };
    let (n, w) = (narrow.to_bytes(), wide.to_bytes());
    assert_ne!(n, w);
    assert_eq!(decode(&n), decode(&w));
    assert_eq!((decode(&n).iifindex, decode(&n).oifindex), (65_535, 2));
    let big = Spec { iif: Some(70_000), wide_ifindex: true, ..Spec::default() }.to_bytes();
    assert_eq!(decode(&big).iifindex, 70_000);

    for len in [0, 1, 3, 8] {
        let mut m = Msg::sample();
        m.put(a::OIFINDEX, &vec![1; len]);
        let err = DecodeError::BadPayloadSize { attr: a::OIFINDEX, len };
        assert_eq!(decode_message(&m.finish()), Err(err));
    }
}

#[test]
fn vpp_sample_decodes() {
    let spec = vpp_sample();
    let buf = vpp_bytes(&spec);
    assert_eq!(&buf[12..16], &0x1234_5678u32.to_ne_bytes()); // a userspace sender
    let s = decode(&buf);
    assert_eq!((s.iifindex, s.oifindex, s.proto), (70_000, 70_001, 1));
    assert_eq!((s.group, s.group_seq, s.rate, s.orig_size), (7, 41, 100, 78));
    assert_eq!(s.data, packet(64));
    assert_eq!(s.fields, spec.fields());
    assert!(!s.has(a::TIMESTAMP));
}

#[test]
#[cfg(target_endian = "little")]
fn tunnel_nest_byte_exact() {
    #[rustfmt::skip]
    let nest: &[u8] = &[
        12, 0, 0, 0, 1, 2, 3, 4, 5, 6, 7, 8,             // ID, be64
        4, 0, 16, 0,                                     // IPV4_INFO_BRIDGE
        8, 0, 1, 0, 192, 0, 2, 1,                        // IPV4_SRC
        8, 0, 2, 0, 198, 51, 100, 2,                     // IPV4_DST
        20, 0, 12, 0, 0x20, 1, 0xd, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, // IPV6_SRC
        20, 0, 13, 0, 0x20, 1, 0xd, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2, // IPV6_DST
        5, 0, 3, 0, 0xb8, 0, 0, 0,                       // TOS
        5, 0, 4, 0, 64, 0, 0, 0,                         // TTL
        4, 0, 5, 0,                                      // DONT_FRAGMENT
        4, 0, 6, 0,                                      // CSUM
        6, 0, 9, 0, 0xc0, 0x00, 0, 0,                    // TP_SRC 49152, be16
        6, 0, 10, 0, 0x17, 0xc1, 0, 0,                   // TP_DST 6081, be16
        4, 0, 7, 0,                                      // OAM
        12, 0, 8, 0, 1, 2, 0x80, 1, 0xde, 0xad, 0xbe, 0xef, // GENEVE_OPTS
        12, 0, 15, 0, 0, 0, 0, 1, 0, 0, 0, 0x2a,         // ERSPAN_OPTS
    ];
    let mut m = Msg::sample();
    full_tunnel().encode(&mut m);
    assert_eq!(&m.buf[20..], nest, "builder");

    // VXLAN_OPTS is in the uapi though no kernel emits it: skipped, its bit not set.
    let mut nest = nest.to_vec();
    nest.extend_from_slice(&[8, 0, 11, 0, 0xa, 0xb, 0xc, 0xd]);
    let tun = decode_tunnel(&nest).unwrap();
    assert_eq!(tun.fields, 0x1ffff & !(1 << t::PAD) & !(1 << t::VXLAN_OPTS));
    assert_eq!(tun.id, 0x0102030405060708);
    assert_eq!((tun.ipv4_src, tun.ipv4_dst), ([192, 0, 2, 1], [198, 51, 100, 2]));
    assert_eq!(tun.ipv6_src, [0x20, 1, 0xd, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1]);
    assert_eq!(tun.ipv6_dst, [0x20, 1, 0xd, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2]);
    assert_eq!((tun.tos, tun.ttl, tun.tp_src, tun.tp_dst), (0xb8, 64, 49152, 6081));
    assert_eq!(tun.geneve_opts, [1, 2, 0x80, 1, 0xde, 0xad, 0xbe, 0xef]);
    assert_eq!(tun.erspan_opts, [0, 0, 0, 1, 0, 0, 0, 0x2a]);
    for ty in [t::DONT_FRAGMENT, t::CSUM, t::OAM, t::IPV4_INFO_BRIDGE] {
        assert!(tun.has(ty), "flag {ty}");
    }

    // The same nest inside a sample, with NLA_F_NESTED on the TUNNEL type.
    let mut m = Msg::sample();
    m.put(a::TUNNEL | NLA_F_NESTED, &nest);
    let buf = m.finish();
    let s = decode(&buf);
    assert_eq!(s.fields, 1 << a::TUNNEL);
    assert_eq!(s.tunnel, tun);
    // Headers, TUNNEL header, then 120 bytes of nest before the GENEVE_OPTS payload.
    assert_eq!(s.tunnel.geneve_opts.as_ptr(), buf[20 + 4 + 120..].as_ptr());
}

#[test]
fn tunnel_with_only_some_attributes() {
    let v6 = TunSpec { ipv6_src: full_tunnel().ipv6_src, ttl: Some(0), ..TunSpec::default() };
    let buf = Spec { tunnel: Some(v6.clone()), ..Spec::default() }.to_bytes();
    let s = decode(&buf).tunnel;
    assert_eq!(s.fields, 1 << t::IPV6_SRC | 1 << t::TTL);
    assert_eq!((s.ipv6_src, s.ipv6_dst, s.ipv4_src, s.id), (v6.ipv6_src.unwrap(), [0; 16], [0; 4], 0));
    let buf = Spec { tunnel: Some(TunSpec::default()), ..Spec::default() }.to_bytes();
    let empty = decode(&buf);
    assert_eq!((empty.fields, empty.tunnel.fields), (1 << a::TUNNEL, 0));
}

#[test]
fn group_events() {
    for (command, kind, refcount) in
        [(cmd::NEW_GROUP, RecordKind::GroupCreated, 1), (cmd::DEL_GROUP, RecordKind::GroupDeleted, 0)]
    {
        let mut m = Msg::new(FAMILY, command, 0);
        m.u32(a::SAMPLE_GROUP, 7);
        m.u32(a::GROUP_REFCOUNT, refcount);
        m.u32(a::GROUP_SEQ, 41);
        let buf = m.finish();
        let s = decode(&buf);
        assert_eq!(s.kind, kind);
        assert_eq!((s.group, s.group_refcount, s.group_seq), (7, refcount, 41));
        assert_eq!(s.fields, 1 << a::SAMPLE_GROUP | 1 << a::GROUP_REFCOUNT | 1 << a::GROUP_SEQ);
    }
}

#[test]
fn short_or_mismeasured_messages() {
    let good = kernel_sample(10).to_bytes();
    for n in 0..20 {
        assert_eq!(decode_message(&good[..n]), Err(DecodeError::ShortHeader), "{n} bytes");
    }
    for len in [0, 16, 19, good.len() as u32 + 1, u32::MAX] {
        let mut b = good.clone();
        b[..4].copy_from_slice(&len.to_ne_bytes());
        assert_eq!(decode_message(&b), Err(DecodeError::BadMessageLength), "nlmsg_len {len}");
    }
    // A header alone is a valid empty sample.
    let mut hdr = good[..20].to_vec();
    hdr[..4].copy_from_slice(&20u32.to_ne_bytes());
    assert_eq!(decode(&hdr).fields, 0);
}

/// A message whose last bytes are `tail`, raw.
fn with_tail(tail: &[u8]) -> Vec<u8> {
    let mut m = Msg::sample();
    m.u32(a::SAMPLE_GROUP, 1);
    m.buf.extend_from_slice(tail);
    m.finish()
}

#[test]
fn bad_attribute_lengths() {
    let bad = |attr| Err(DecodeError::BadAttributeLength { attr });
    assert_eq!(decode_message(&with_tail(&[0, 0, 3, 0])), bad(3));
    assert_eq!(decode_message(&with_tail(&[3, 0, 5, 0])), bad(5));
    assert_eq!(decode_message(&with_tail(&[12, 0, 6, 0, 1, 2, 3, 4])), bad(6));
    assert_eq!(decode_message(&with_tail(&[8, 0])), bad(u16::MAX)); // a cut header
                                                                    // Inside the nest: an inner attribute may not run past the nest, even within the message.
    let mut m = Msg::sample();
    m.put(a::TUNNEL, &[8, 0, t::TTL as u8, 0]);
    m.u32(a::SAMPLE_GROUP, 1);
    assert_eq!(decode_message(&m.finish()), bad(t::TTL));
}

#[test]
fn wrong_payload_sizes() {
    let cases: &[(u16, &[u8])] = &[
        (a::ORIGSIZE, &[1, 2]),
        (a::SAMPLE_RATE, &[1; 8]),
        (a::GROUP_SEQ, &[]),
        (a::TIMESTAMP, &[1; 4]),
        (a::OUT_TC_OCC, &[1; 12]),
        (a::PROTO, &[0, 8, 0, 0]),
        (a::OUT_TC, &[5]),
        (a::SAMPLE_PROBABILITY, &[0, 0, 0, 1]),
    ];
    for &(ty, payload) in cases {
        let mut m = Msg::sample();
        m.u32(a::SAMPLE_GROUP, 1);
        m.put(ty, payload);
        let want = Err(DecodeError::BadPayloadSize { attr: ty, len: payload.len() });
        assert_eq!(decode_message(&m.finish()), want, "attr {ty}");
    }
    let nested: &[(u16, &[u8])] = &[
        (t::TTL, &[64, 0]),
        (t::TOS, &[]),
        (t::ID, &[1; 4]),
        (t::TP_DST, &[1; 4]),
        (t::IPV4_SRC, &[1; 16]),
        (t::IPV6_DST, &[1; 4]),
        (t::CSUM, &[1]),
    ];
    for &(ty, payload) in nested {
        let mut m = Msg::sample();
        m.begin(a::TUNNEL);
        m.put(ty, payload);
        m.end();
        let want = Err(DecodeError::BadPayloadSize { attr: ty, len: payload.len() });
        assert_eq!(decode_message(&m.finish()), want, "tunnel attr {ty}");
    }
}

#[test]
fn not_psample() {
    let mut err = Msg::new(2, 0, 0); // NLMSG_ERROR: error code + the request's header
    err.buf.extend_from_slice(&[0xfe, 0xff, 0xff, 0xff, 16, 0, 0, 0, 0x1c, 0, 5, 0, 1, 0, 0, 0]);
    let done = Msg::new(3, 0, 0);
    let noop = Msg::new(1, 0, 0);
    // nlctrl's DELFAMILY has psample NEW_GROUP's command number.
    let ctrl = Msg::new(psample::__private::ctrl::FAMILY_ID, psample::__private::ctrl::CMD_DELFAMILY, 0);
    for m in [err, done, noop, ctrl] {
        assert_eq!(decode_message(&m.finish()), Err(DecodeError::NotPsample));
    }
    for c in [cmd::GET_GROUP, 4, 0xff] {
        assert_eq!(decode_message(&Msg::new(FAMILY, c, 0).finish()), Err(DecodeError::NotPsample), "cmd {c}");
    }
}

#[test]
fn bytes_after_nlmsg_len_are_ignored() {
    let buf = full_spec().to_bytes();
    let mut longer = buf.clone();
    longer.extend_from_slice(&[0xff, 0xff, 0xff, 0xff, 0, 0, 3, 0, 9]); // would be a bad attribute
    assert_eq!(decode(&longer), decode(&buf));
}

#[test]
fn repair_truncated_shortens_data() {
    let mut m = Msg::sample();
    kernel_sample(0).encode(&mut m); // every attribute but DATA
    let data_at = m.put(a::DATA, &packet(1000));
    let full = m.finish();
    for cut in data_at..full.len() {
        let mut b = full[..cut].to_vec();
        assert_eq!(decode_message(&b), Err(DecodeError::BadMessageLength));
        repair_truncated(&mut b);
        let s = decode(&b);
        assert_eq!(s.data, &packet(1000)[..cut - data_at], "cut at {cut}");
        assert_eq!(s.data.as_ptr(), b[data_at..].as_ptr());
        assert_eq!((s.group, s.group_seq, s.fields), (7, 41, kernel_sample(1000).fields()));
    }
    for n in 0..20 {
        let mut b = full[..n].to_vec();
        repair_truncated(&mut b); // too short to repair: left alone
        assert_eq!(b, full[..n]);
    }
}

/// A cut that leaves 1 to 3 bytes of the next attribute's header: the stub is dropped.
#[test]
fn repair_truncated_drops_a_cut_attribute_header() {
    let mut m = Msg::sample();
    m.u32(a::SAMPLE_GROUP, 7);
    m.put(a::DATA, &[1, 2, 3, 4]);
    m.put(a::USER_COOKIE, &[9; 8]);
    let full = m.finish();
    for cut in full.len() - 11..full.len() - 8 {
        let mut b = full[..cut].to_vec();
        repair_truncated(&mut b);
        let s = decode_message(&b).unwrap_or_else(|e| panic!("cut at {cut}: {e}"));
        assert_eq!((s.group, s.data), (7, &[1u8, 2, 3, 4][..]));
    }
}

/// A cut inside a fixed-size value or the tunnel nest drops that attribute, keeping the rest.
#[test]
fn repair_truncated_drops_a_cut_fixed_size_or_nested_attribute() {
    let mut m = Msg::sample();
    m.u32(a::SAMPLE_GROUP, 7);
    m.u64(a::TIMESTAMP, 42, 0);
    let full = m.finish();
    let mut b = full[..full.len() - 3].to_vec();
    repair_truncated(&mut b);
    let s = decode_message(&b).expect("decodes without the cut timestamp");
    assert_eq!(s.group, 7);
    assert!(!s.has(a::TIMESTAMP));

    let mut m = Msg::sample();
    m.u32(a::SAMPLE_GROUP, 8);
    m.put(a::DATA, &[5; 8]);
    m.put(a::TUNNEL, &[8, 0, 0, 0, 0, 0, 0, 42, 5, 0, 4, 0, 64, 0, 0, 0]);
    let full = m.finish();
    let mut b = full[..full.len() - 6].to_vec();
    repair_truncated(&mut b);
    let s = decode_message(&b).expect("decodes without the cut tunnel nest");
    assert_eq!((s.group, s.data), (8, &[5u8; 8][..]));
    assert!(!s.has(a::TUNNEL));
}

#[test]
fn effective_rate_turns_probability_into_one_in_n() {
    for n in [0, 1, 100, u32::MAX] {
        assert_eq!(effective_rate(n, false), n);
    }
    assert_eq!(effective_rate(0, true), 0); // never sampled
    assert_eq!(effective_rate(u32::MAX, true), 1);
    assert_eq!(effective_rate(1, true), u32::MAX);
    assert_eq!(effective_rate(3, true), 1_431_655_765); // u32::MAX / 3, exact
    assert_eq!(effective_rate(7, true), 613_566_756); // 613566756.43 rounds down
    assert_eq!(effective_rate(100, true), 42_949_673); // 42949672.95 rounds up
    assert_eq!(effective_rate(1 << 31, true), 2); // 1.99999...
    assert_eq!(effective_rate(42_949_673, true), 100); // 1 in 100 as a probability

    let prob = Spec { rate: Some(42_949_673), probability: true, ..Spec::default() }.to_bytes();
    assert_eq!(decode(&prob).one_in_n(), 100);
    let plain = Spec { rate: Some(42_949_673), ..Spec::default() }.to_bytes();
    assert_eq!(decode(&plain).one_in_n(), 42_949_673);
}

/// The fuzz seeds are what the builder makes. `PSAMPLE_BLESS=1 cargo test --test decode` rewrites them.
#[test]
fn fuzz_seeds_are_current() {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/fuzz/seeds");
    for (name, bytes) in seeds() {
        decode_message(&bytes).unwrap_or_else(|e| panic!("seed {name}: {e}"));
        let path = format!("{dir}/{name}");
        if std::env::var_os("PSAMPLE_BLESS").is_some() {
            std::fs::create_dir_all(dir).unwrap();
            std::fs::write(&path, &bytes).unwrap();
        }
        let committed = std::fs::read(&path).unwrap_or_default();
        assert!(committed == bytes, "{path} is stale: run `PSAMPLE_BLESS=1 cargo test --test decode`");
    }
}

#[test]
fn ovs_cookie_is_two_big_endian_ids_of_an_eight_byte_cookie() {
    // OVS's psample action: USER_COOKIE = obs_domain_id, obs_point_id, each in network order.
    let mut m = Msg::sample();
    m.u32(a::SAMPLE_GROUP, 10);
    m.put(a::USER_COOKIE, &[0x00, 0x00, 0x00, 0x2a, 0xde, 0xad, 0xbe, 0xef]);
    let buf = m.finish();
    let s = decode(&buf);
    assert_eq!(ovs_cookie(s.user_cookie), Some((42, 0xdead_beef)));
    assert_eq!(ovs_cookie(&[0xff; 8]), Some((u32::MAX, u32::MAX)));
    assert_eq!(ovs_cookie(&[0, 0, 0, 1, 0, 0, 0, 2]), Some((1, 2)));
    for len in [0, 1, 4, 7, 9, 16] {
        assert_eq!(ovs_cookie(&vec![1; len]), None, "a {len}-byte cookie is not OVS's");
    }
}
