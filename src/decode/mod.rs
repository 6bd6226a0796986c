//! Decoding psample messages from borrowed bytes, without allocating.

pub mod attrs;
mod sample;
mod tunnel;

pub use attrs::DecodeError;
pub use sample::{decode_message, effective_rate, split_header, RecordKind, Sample};
pub use tunnel::{decode_tunnel, Tunnel};

/// Makes a datagram that was cut by a too-small buffer decodable: `nlmsg_len` and the length of
/// the attribute that runs past the end are shrunk to the bytes received.
pub fn repair_truncated(msg: &mut [u8]) {
    if msg.len() < crate::uapi::ATTRS_OFFSET {
        return;
    }
    let total = msg.len();
    msg[0..4].copy_from_slice(&(total as u32).to_ne_bytes());
    let mut off = crate::uapi::ATTRS_OFFSET;
    while off + 4 <= total {
        let len = u16::from_ne_bytes([msg[off], msg[off + 1]]) as usize;
        if len < 4 {
            return;
        }
        if off + len > total {
            msg[off..off + 2].copy_from_slice(&((total - off) as u16).to_ne_bytes());
            return;
        }
        off += (len + 3) & !3;
    }
}
