//! Batched reads of whole datagrams into buffers the handle owns (`recvmmsg`), with the sender's
//! address and the source namespace id of each. Allocates once, when the handle opens.

use std::os::fd::RawFd;

use crate::error::{Errno, Result};
use crate::uapi::netlink::{NETLINK_LISTEN_ALL_NSID, SOL_NETLINK};
use crate::uapi::MAX_MESSAGE;

/// Each slot holds the largest message psample can send, so a datagram is never cut.
pub const SLOT_SIZE: usize = (MAX_MESSAGE + 4095) & !4095;
const _: () = assert!(SLOT_SIZE >= 16 + 4 + 0xffff, "a slot holds the largest message");
const CMSG_SPACE: usize = 64; // room for NETLINK_LISTEN_ALL_NSID (an int) and then some

/// Metadata of one received datagram.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Received {
    pub len: usize,
    pub sender_portid: u32,
    pub nsid: i32,
    pub truncated: bool,
}

pub struct RecvBuffers {
    data: Vec<u8>,
    control: Vec<u8>,
    names: Vec<libc::sockaddr_nl>,
    iovs: Vec<libc::iovec>,
    hdrs: Vec<libc::mmsghdr>,
    received: Vec<Received>,
}

// SAFETY: the raw pointers in `iovs` and `hdrs` only ever point into this struct's own heap
// buffers (they move with it), are rebuilt before each read and dereferenced only by the kernel
// during `read(&mut self)`; no thread-bound state is involved, so another thread may own it.
unsafe impl Send for RecvBuffers {}

impl RecvBuffers {
    /// Buffers for `batch` datagrams per read (an [`Options`](crate::Options) value, already
    /// checked against its limit).
    pub fn new(batch: usize) -> Self {
        let batch = batch.max(1);
        // SAFETY: sockaddr_nl, iovec and mmsghdr are plain C structs for which all-zero bytes
        // (null pointers, zero lengths) are valid values.
        let (name, iov, hdr) = unsafe { (std::mem::zeroed(), std::mem::zeroed(), std::mem::zeroed()) };
        RecvBuffers {
            data: vec![0; batch * SLOT_SIZE],
            control: vec![0; batch * CMSG_SPACE],
            names: vec![name; batch],
            iovs: vec![iov; batch],
            hdrs: vec![hdr; batch],
            received: vec![Received { len: 0, sender_portid: 0, nsid: -1, truncated: false }; batch],
        }
    }

    pub fn batch(&self) -> usize {
        self.hdrs.len()
    }

    /// Reads up to `max` queued datagrams without waiting (`MSG_DONTWAIT`): `EAGAIN` when
    /// nothing is queued. The caller decides how to wait, so a busy socket costs one system call.
    pub fn read(&mut self, fd: RawFd, max: usize) -> Result<usize> {
        let n = max.clamp(1, self.batch());
        // Pointers are rebuilt on every call so no struct holds pointers into itself between calls.
        for i in 0..n {
            self.iovs[i] = libc::iovec { iov_base: self.data[i * SLOT_SIZE..].as_mut_ptr().cast(), iov_len: SLOT_SIZE };
            let h = &mut self.hdrs[i];
            h.msg_hdr.msg_name = (&mut self.names[i] as *mut libc::sockaddr_nl).cast();
            h.msg_hdr.msg_namelen = std::mem::size_of::<libc::sockaddr_nl>() as u32;
            h.msg_hdr.msg_iov = &mut self.iovs[i];
            h.msg_hdr.msg_iovlen = 1;
            h.msg_hdr.msg_control = self.control[i * CMSG_SPACE..].as_mut_ptr().cast();
            h.msg_hdr.msg_controllen = CMSG_SPACE;
            h.msg_hdr.msg_flags = 0;
            h.msg_len = 0;
        }
        let flags = libc::MSG_DONTWAIT;
        // SAFETY: the first `n` headers point at buffers owned by `self` (data slots of SLOT_SIZE,
        // names, iovecs, control blocks of CMSG_SPACE) that outlive the call and are not otherwise
        // borrowed; the kernel writes at most the lengths given.
        let got = unsafe { libc::recvmmsg(fd, self.hdrs.as_mut_ptr(), n as u32, flags, std::ptr::null_mut()) };
        if got < 0 {
            return Err(Errno::last_os_error());
        }
        let got = got as usize;
        for i in 0..got {
            let h = &self.hdrs[i];
            let control_len = h.msg_hdr.msg_controllen.min(CMSG_SPACE);
            self.received[i] = Received {
                len: (h.msg_len as usize).min(SLOT_SIZE),
                sender_portid: self.names[i].nl_pid,
                nsid: nsid_from_control(&self.control[i * CMSG_SPACE..i * CMSG_SPACE + control_len]),
                truncated: h.msg_hdr.msg_flags & libc::MSG_TRUNC != 0,
            };
        }
        Ok(got)
    }

    /// Datagram `i` of the last read and its metadata.
    pub fn message(&self, i: usize) -> (&[u8], Received) {
        let r = self.received[i];
        (&self.data[i * SLOT_SIZE..i * SLOT_SIZE + r.len], r)
    }

    /// Mutable bytes of datagram `i` (to repair a truncated one before decoding).
    pub fn message_mut(&mut self, i: usize) -> &mut [u8] {
        let len = self.received[i].len;
        &mut self.data[i * SLOT_SIZE..i * SLOT_SIZE + len]
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
