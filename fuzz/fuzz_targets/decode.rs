//! Any bytes through the decoder: no panic, no out-of-bounds read (ASan), and a decoded sample only
//! reports known attributes and borrows from the input.
#![no_main]

use libfuzzer_sys::fuzz_target;
use psample::__private::{decode_tunnel, repair_truncated, Attrs, ATTRS_OFFSET};
use psample::Sample;
use std::hint::black_box;

const KNOWN_ATTRS: u64 = 0x1ffff & !(1 << 9); // PSAMPLE_ATTR 0..=16 but PAD
const KNOWN_TUNNEL: u32 = 0x1ffff & !(1 << 14) & !(1 << 11); // tunnel key 0..=16 but PAD and VXLAN_OPTS

fuzz_target!(|data: &[u8]| {
    // The walker and the tunnel decoder on their own, from the start and past the headers.
    for start in [0, ATTRS_OFFSET] {
        for (ty, p) in Attrs::new(data.get(start..).unwrap_or_default()).flatten() {
            black_box((ty, p.len()));
            if let Ok(t) = decode_tunnel(p) {
                touch_tunnel(&t, data);
            }
        }
    }
    if let Ok(s) = psample::decode_message(data) {
        touch(&s, data);
    }
    // What the receive loop does with a datagram the kernel cut.
    let mut cut = data.to_vec();
    repair_truncated(&mut cut);
    if let Ok(s) = psample::decode_message(&cut) {
        touch(&s, &cut);
    }
});

fn within(p: &[u8], input: &[u8]) {
    let (r, i) = (p.as_ptr_range(), input.as_ptr_range());
    assert!(p.is_empty() || (i.start <= r.start && r.end <= i.end), "slice outside the input");
    black_box(p.iter().fold(0u8, |a, b| a ^ b)); // read every byte
}

fn touch(s: &Sample, input: &[u8]) {
    assert_eq!(s.fields & !KNOWN_ATTRS, 0, "unknown attribute recorded");
    black_box((s.kind, s.iifindex, s.oifindex, s.orig_size, s.group, s.group_seq, s.rate, s.group_refcount));
    black_box((s.out_tc, s.proto, s.out_tc_occ, s.latency_ns, s.timestamp_ns, s.one_in_n()));
    black_box((s.nsid, s.sender_portid, s.truncated));
    within(s.data, input);
    within(s.user_cookie, input);
    touch_tunnel(&s.tunnel, input);
}

fn touch_tunnel(t: &psample::Tunnel, input: &[u8]) {
    assert_eq!(t.fields & !KNOWN_TUNNEL, 0, "unknown tunnel attribute recorded");
    black_box((t.id, t.ipv4_src, t.ipv4_dst, t.ipv6_src, t.ipv6_dst, t.tos, t.ttl, t.tp_src, t.tp_dst));
    for p in [t.geneve_opts, t.erspan_opts] {
        within(p, input);
    }
}
