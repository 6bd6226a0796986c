//! Decoding psample messages from borrowed bytes, without allocating.

pub mod attrs;
mod sample;
mod tunnel;

pub use attrs::DecodeError;
pub use sample::{
    decode_attrs_into, decode_message, effective_rate, ovs_cookie, record_kind, split_header, DecodeTarget, RecordKind,
    Sample, OVS_COOKIE_LEN,
};
pub use tunnel::{decode_tunnel, Tunnel};

/// Makes a datagram that was cut by a too-small buffer decodable: a cut DATA or USER_COOKIE is
/// shortened to what arrived; any other cut attribute (a fixed-size value, the tunnel nest, a
/// partial header) is dropped by ending the message before it. Rewrites `nlmsg_len` and, for a
/// shortened attribute, its `nla_len`.
pub fn repair_truncated(msg: &mut [u8]) {
    use crate::uapi::{attr, ATTRS_OFFSET};
    if msg.len() < ATTRS_OFFSET {
        return;
    }
    let total = msg.len();
    let mut off = ATTRS_OFFSET;
    let end = loop {
        if off >= total {
            break total;
        }
        if total - off < 4 {
            break off;
        }
        let len = u16::from_ne_bytes([msg[off], msg[off + 1]]) as usize;
        let ty = u16::from_ne_bytes([msg[off + 2], msg[off + 3]]) & 0x3fff;
        if len < 4 {
            break off;
        }
        if off + len > total {
            if ty == attr::DATA || ty == attr::USER_COOKIE {
                msg[off..off + 2].copy_from_slice(&((total - off) as u16).to_ne_bytes());
                break total;
            }
            break off;
        }
        off += (len + 3) & !3;
    };
    msg[0..4].copy_from_slice(&(end as u32).to_ne_bytes());
}
