//! Batched reads of whole datagrams into buffers the handle owns (`recvmmsg`), with the sender's
//! address of each and, for a handle that listens to all namespaces, the source namespace id.
//! Allocates once, when the handle opens, and builds the `recvmmsg` headers then: a read only
//! hands them to the kernel.

use std::os::fd::RawFd;

use crate::error::{Errno, Result};
use crate::uapi::netlink::{NETLINK_LISTEN_ALL_NSID, SOL_NETLINK};
use crate::uapi::MAX_MESSAGE;

/// Each slot holds the largest message psample can send, so a datagram is never cut.
pub const SLOT_SIZE: usize = (MAX_MESSAGE + 4095) & !4095;
const _: () = assert!(SLOT_SIZE >= 16 + 4 + 0xffff, "a slot holds the largest message");
const CMSG_SPACE: usize = 64; // room for NETLINK_LISTEN_ALL_NSID (an int) and then some
const NAME_LEN: u32 = std::mem::size_of::<libc::sockaddr_nl>() as u32;

/// Metadata of one received datagram.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Received {
    pub len: usize,
    pub sender_portid: u32,
    pub nsid: i32,
    pub truncated: bool,
}

impl Default for Received {
    /// A message that did not come through a socket (psample_decode()): the kernel, this namespace.
    fn default() -> Self {
        Received { len: 0, sender_portid: 0, nsid: -1, truncated: false }
    }
}

/// The buffers and the `recvmmsg` headers pointing into them.
///
/// Provenance: each pointer the headers hold was derived once, in [`RecvBuffers::new`], from
/// `Vec::as_mut_ptr` of a vector that is never resized, and afterwards the vectors are only read
/// through shared references (which leave those pointers valid) or written through the same
/// pointers (`message_mut`). The vectors' heap blocks never move, also when the struct moves.
pub struct RecvBuffers {
    data: Vec<u8>,
    /// `data.as_mut_ptr()`, taken once: the slots' iovecs and `message_mut` derive from it.
    data_ptr: *mut u8,
    /// One block of CMSG_SPACE per slot; empty unless the handle listens to all namespaces.
    control: Vec<u8>,
    names: Vec<libc::sockaddr_nl>,
    /// Read by the kernel only; `hdrs` point into it.
    _iovs: Vec<libc::iovec>,
    hdrs: Vec<libc::mmsghdr>,
    /// Headers the last read filled (their name and control lengths are the kernel's).
    filled: usize,
}

// SAFETY: the raw pointers in `data_ptr`, `_iovs` and `hdrs` only ever point into this struct's
// own heap blocks (which do not move when the struct does) and are dereferenced only by the
// kernel during `read(&mut self)` and by `message_mut(&mut self)`; no thread-bound state is
// involved, so another thread may own it.
unsafe impl Send for RecvBuffers {}

impl RecvBuffers {
    /// Buffers for `batch` datagrams per read (an [`Options`](crate::Options) value, already
    /// checked against its limit). `with_control`: ask for control messages (the source namespace
    /// id, `NETLINK_LISTEN_ALL_NSID`); without it no control buffer is handed to the kernel.
    pub fn new(batch: usize, with_control: bool) -> Self {
        let batch = batch.max(1);
        let mut data = vec![0u8; batch * SLOT_SIZE];
        let mut control = vec![0u8; if with_control { batch * CMSG_SPACE } else { 0 }];
        // SAFETY: sockaddr_nl is a plain C struct for which all-zero bytes are a valid value.
        let mut names = vec![unsafe { std::mem::zeroed::<libc::sockaddr_nl>() }; batch];
        let data_ptr = data.as_mut_ptr();
        let control_ptr = control.as_mut_ptr();
        let names_ptr = names.as_mut_ptr();
        let mut iovs: Vec<libc::iovec> = (0..batch)
            .map(|i| libc::iovec { iov_base: data_ptr.wrapping_add(i * SLOT_SIZE).cast(), iov_len: SLOT_SIZE })
            .collect();
        let iovs_ptr = iovs.as_mut_ptr();
        let hdrs = (0..batch)
            .map(|i| {
                // SAFETY: mmsghdr is a plain C struct for which all-zero bytes (null pointers, zero
                // lengths) are a valid value.
                let mut h: libc::mmsghdr = unsafe { std::mem::zeroed() };
                h.msg_hdr.msg_name = names_ptr.wrapping_add(i).cast();
                h.msg_hdr.msg_namelen = NAME_LEN;
                h.msg_hdr.msg_iov = iovs_ptr.wrapping_add(i);
                h.msg_hdr.msg_iovlen = 1;
                if with_control {
                    h.msg_hdr.msg_control = control_ptr.wrapping_add(i * CMSG_SPACE).cast();
                    h.msg_hdr.msg_controllen = CMSG_SPACE;
                }
                h
            })
            .collect();
        RecvBuffers { data, data_ptr, control, names, _iovs: iovs, hdrs, filled: 0 }
    }

    pub fn batch(&self) -> usize {
        self.hdrs.len()
    }

    fn with_control(&self) -> bool {
        !self.control.is_empty()
    }

    /// Reads up to `max` datagrams in one `recvmmsg(MSG_WAITFORONE)`: on a blocking socket it
    /// waits for the first one, then takes what else is queued without waiting; on a nonblocking
    /// socket it gives `EAGAIN` when nothing is queued. One system call either way.
    pub fn read(&mut self, fd: RawFd, max: usize) -> Result<usize> {
        let n = max.clamp(1, self.batch());
        // The kernel wrote back the lengths it used into the headers it filled last time (and
        // `meta` read them since): give those their full lengths again.
        for h in &mut self.hdrs[..self.filled] {
            h.msg_hdr.msg_namelen = NAME_LEN;
            if !h.msg_hdr.msg_control.is_null() {
                h.msg_hdr.msg_controllen = CMSG_SPACE;
            }
        }
        self.filled = 0;
        // SAFETY: the first `n` headers were built in `new` and point at buffers owned by `self`
        // (data slots of SLOT_SIZE, names, iovecs, control blocks of CMSG_SPACE or none) that
        // outlive the call and are not borrowed meanwhile (`&mut self`); the kernel writes at most
        // the lengths given, and the headers' output fields.
        let got =
            unsafe { libc::recvmmsg(fd, self.hdrs.as_mut_ptr(), n as u32, libc::MSG_WAITFORONE, std::ptr::null_mut()) };
        if got < 0 {
            return Err(Errno::last_os_error());
        }
        self.filled = got as usize;
        Ok(self.filled)
    }

    /// Metadata of datagram `i` of the last read. Call before the next read.
    pub fn meta(&self, i: usize) -> Received {
        let h = &self.hdrs[i].msg_hdr;
        Received {
            len: (self.hdrs[i].msg_len as usize).min(SLOT_SIZE),
            sender_portid: self.names[i].nl_pid,
            nsid: if self.with_control() {
                let len = h.msg_controllen.min(CMSG_SPACE);
                nsid_from_control(&self.control[i * CMSG_SPACE..i * CMSG_SPACE + len])
            } else {
                -1
            },
            truncated: h.msg_flags & libc::MSG_TRUNC != 0,
        }
    }

    /// Bytes of datagram `i` of the last read.
    pub fn message(&self, i: usize) -> &[u8] {
        let len = (self.hdrs[i].msg_len as usize).min(SLOT_SIZE);
        &self.data[i * SLOT_SIZE..i * SLOT_SIZE + len]
    }

    /// Mutable bytes of datagram `i` (to repair a truncated one before decoding).
    pub fn message_mut(&mut self, i: usize) -> &mut [u8] {
        let len = (self.hdrs[i].msg_len as usize).min(SLOT_SIZE);
        assert!(i < self.batch());
        // SAFETY: slot `i < batch` lies inside `data` (batch * SLOT_SIZE bytes) and `len <=
        // SLOT_SIZE`; `data_ptr` is `data`'s own pointer (same provenance as the iovecs), and
        // `&mut self` keeps every other access away while the slice lives.
        unsafe { std::slice::from_raw_parts_mut(self.data_ptr.add(i * SLOT_SIZE), len) }
    }
}

/// Reads the `NETLINK_LISTEN_ALL_NSID` control message: the id of the namespace a sample came
/// from, as seen from the listener's namespace. -1 when absent (same namespace, or no id).
pub fn nsid_from_control(mut control: &[u8]) -> i32 {
    const HDR: usize = std::mem::size_of::<libc::cmsghdr>();
    const ALIGN: usize = std::mem::size_of::<usize>();
    while control.len() >= HDR {
        let len = usize::from_ne_bytes(control[0..8].try_into().unwrap_or([0; 8]));
        let level = i32::from_ne_bytes(control[8..12].try_into().unwrap_or([0; 4]));
        let ty = i32::from_ne_bytes(control[12..16].try_into().unwrap_or([0; 4]));
        if len < HDR || len > control.len() {
            break;
        }
        if level == SOL_NETLINK && ty == NETLINK_LISTEN_ALL_NSID && len >= HDR + 4 {
            return i32::from_ne_bytes(control[HDR..HDR + 4].try_into().unwrap_or([0xff; 4]));
        }
        let next = (len + ALIGN - 1) & !(ALIGN - 1);
        control = control.get(next..).unwrap_or(&[]);
    }
    -1
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nsid_is_read_from_its_control_message() {
        let mut c = Vec::new();
        c.extend_from_slice(&20usize.to_ne_bytes());
        c.extend_from_slice(&SOL_NETLINK.to_ne_bytes());
        c.extend_from_slice(&NETLINK_LISTEN_ALL_NSID.to_ne_bytes());
        c.extend_from_slice(&7i32.to_ne_bytes());
        c.extend_from_slice(&[0; 4]);
        assert_eq!(nsid_from_control(&c), 7);
        assert_eq!(nsid_from_control(&c[..10]), -1);
        assert_eq!(nsid_from_control(&[]), -1);
    }
}
