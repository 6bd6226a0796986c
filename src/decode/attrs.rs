//! Zero-allocation netlink attribute walker over borrowed bytes.

use std::fmt;

/// Why a message or attribute could not be decoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum DecodeError {
    /// Fewer bytes than a netlink + generic netlink header.
    ShortHeader,
    /// `nlmsg_len` is smaller than the headers or larger than the bytes given.
    BadMessageLength,
    /// An attribute header is cut, its `nla_len` is below 4 or runs past the end.
    BadAttributeLength {
        /// The attribute's type.
        attr: u16,
    },
    /// A fixed-size attribute has a payload of the wrong size.
    BadPayloadSize {
        /// The attribute's type.
        attr: u16,
        /// Its payload's length.
        len: usize,
    },
    /// The message is well formed netlink but not a psample sample or group event.
    NotPsample,
}

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DecodeError::ShortHeader => write!(f, "message shorter than the netlink and genetlink headers"),
            DecodeError::BadMessageLength => write!(f, "nlmsg_len disagrees with the bytes given"),
            DecodeError::BadAttributeLength { attr } => {
                write!(f, "attribute {attr}: nla_len is cut or runs past the end")
            }
            DecodeError::BadPayloadSize { attr, len } => write!(f, "attribute {attr}: unexpected payload size {len}"),
            DecodeError::NotPsample => write!(f, "not a psample sample or group event"),
        }
    }
}

impl std::error::Error for DecodeError {}

pub(crate) const NLA_HDRLEN: usize = 4;
pub(crate) const NLA_TYPE_MASK: u16 = !((1 << 15) | (1 << 14)); // strip NLA_F_NESTED and NLA_F_NET_BYTEORDER

/// Iterates `(type, payload)` over a run of attributes. A malformed attribute yields one `Err` and
/// ends the walk.
pub struct Attrs<'a> {
    rest: &'a [u8],
}

impl<'a> Attrs<'a> {
    /// Walks the attributes in `bytes`.
    pub fn new(bytes: &'a [u8]) -> Self {
        Attrs { rest: bytes }
    }
}

impl<'a> Iterator for Attrs<'a> {
    type Item = Result<(u16, &'a [u8]), DecodeError>;

    #[inline]
    fn next(&mut self) -> Option<Self::Item> {
        if self.rest.is_empty() {
            return None;
        }
        let rest = self.rest;
        if rest.len() < NLA_HDRLEN {
            self.rest = &[];
            return Some(Err(DecodeError::BadAttributeLength { attr: u16::MAX }));
        }
        let len = u16::from_ne_bytes([rest[0], rest[1]]) as usize;
        let ty = u16::from_ne_bytes([rest[2], rest[3]]) & NLA_TYPE_MASK;
        if len < NLA_HDRLEN || len > rest.len() {
            self.rest = &[];
            return Some(Err(DecodeError::BadAttributeLength { attr: ty }));
        }
        // The last attribute may omit its alignment padding.
        let advance = ((len + 3) & !3).min(rest.len());
        self.rest = &rest[advance..];
        Some(Ok((ty, &rest[NLA_HDRLEN..len])))
    }
}

#[inline]
pub fn u8_of(attr: u16, p: &[u8]) -> Result<u8, DecodeError> {
    match p {
        [v] => Ok(*v),
        _ => Err(DecodeError::BadPayloadSize { attr, len: p.len() }),
    }
}

#[inline]
pub fn u16_of(attr: u16, p: &[u8]) -> Result<u16, DecodeError> {
    p.try_into().map(u16::from_ne_bytes).map_err(|_| DecodeError::BadPayloadSize { attr, len: p.len() })
}

#[inline]
pub fn u32_of(attr: u16, p: &[u8]) -> Result<u32, DecodeError> {
    p.try_into().map(u32::from_ne_bytes).map_err(|_| DecodeError::BadPayloadSize { attr, len: p.len() })
}

#[inline]
pub fn u64_of(attr: u16, p: &[u8]) -> Result<u64, DecodeError> {
    p.try_into().map(u64::from_ne_bytes).map_err(|_| DecodeError::BadPayloadSize { attr, len: p.len() })
}

/// A u16 or a u32: the kernel sends ifindexes as u16, VPP's sflow plugin as u32.
#[inline]
pub fn u16_or_u32_of(attr: u16, p: &[u8]) -> Result<u32, DecodeError> {
    match p.len() {
        2 => u16_of(attr, p).map(u32::from),
        _ => u32_of(attr, p),
    }
}

#[inline]
pub fn flag_of(attr: u16, p: &[u8]) -> Result<(), DecodeError> {
    if p.is_empty() {
        Ok(())
    } else {
        Err(DecodeError::BadPayloadSize { attr, len: p.len() })
    }
}

#[inline]
pub fn array_of<const N: usize>(attr: u16, p: &[u8]) -> Result<[u8; N], DecodeError> {
    p.try_into().map_err(|_| DecodeError::BadPayloadSize { attr, len: p.len() })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn attr(ty: u16, payload: &[u8]) -> Vec<u8> {
        let mut v = Vec::new();
        v.extend_from_slice(&((4 + payload.len()) as u16).to_ne_bytes());
        v.extend_from_slice(&ty.to_ne_bytes());
        v.extend_from_slice(payload);
        while v.len() % 4 != 0 {
            v.push(0);
        }
        v
    }

    #[test]
    fn walks_aligned_attributes_and_strips_flags() {
        let mut b = attr(3, &[1, 2, 3, 4, 5]);
        b.extend(attr(8 | 0x8000, &[]));
        let got: Vec<_> = Attrs::new(&b).map(|r| r.unwrap()).collect();
        assert_eq!(got, vec![(3, &[1u8, 2, 3, 4, 5][..]), (8, &[][..])]);
    }

    #[test]
    fn last_attribute_may_lack_padding() {
        let mut b = attr(1, &[9]);
        b.truncate(5);
        let got: Vec<_> = Attrs::new(&b).collect();
        assert_eq!(got, vec![Ok((1, &[9u8][..]))]);
    }

    #[test]
    fn malformed_lengths_are_errors() {
        assert_eq!(Attrs::new(&[0, 0]).next(), Some(Err(DecodeError::BadAttributeLength { attr: u16::MAX })));
        let zero = [0u8, 0, 5, 0];
        assert_eq!(Attrs::new(&zero).next(), Some(Err(DecodeError::BadAttributeLength { attr: 5 })));
        let past = [12u8, 0, 5, 0, 1, 2];
        assert_eq!(Attrs::new(&past).next(), Some(Err(DecodeError::BadAttributeLength { attr: 5 })));
    }
}
