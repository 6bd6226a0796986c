//! Waking a receiver (`Remote::wake`, `psample_wakeup`) with the sample socket as the only
//! descriptor, in the manner of `pcap_breakloop`.
//!
//! A wake-up raises a pending count, then sends an in-band token (a bare `NLMSG_NOOP` header)
//! from a second generic netlink socket, the waker, to the sample socket's own port id. The count
//! is the truth: the receiver takes one at the top of each receive (an atomic, no system call), so
//! under load it answers before reading more. The token only wakes a receiver blocked in
//! `recvmmsg`, or a poller, and is recognised by its sender port id, which the kernel sets and no
//! one can forge.
//!
//! The waker is `connect()`ed to the sample socket at open time: the kernel checks CAP_NET_ADMIN
//! for a unicast to a nonzero port id when the address is given (generic netlink has no
//! `NL_CFG_F_NONROOT_SEND`), in `sendto()` at every send, but in `connect()` only once, so a
//! daemon that drops its capabilities after subscribing can still wake. When that `connect()` is
//! refused (`EPERM`: an unprivileged subscriber to group events only), wake-ups still count, and
//! take effect at the next receive call.
//!
//! A token the kernel refuses because the sample socket's queue is full (`EAGAIN`) is harmless:
//! the count was raised first, and the receiver has data to wake on. A refused token from a
//! userspace sender is not added to the socket's drop count (`netlink_attachskb` calls
//! `netlink_overrun` for kernel senders only, in 5.10 through 6.12 and later), so
//! `kernel_drops` stays a count of samples.

use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use crate::error::{Errno, Result};
use crate::recv::Received;

/// The token: a netlink header alone, `NLMSG_NOOP`, 16 bytes.
const TOKEN: [u8; 16] = {
    let mut t = [0u8; 16];
    let len = 16u32.to_ne_bytes();
    let ty = (libc::NLMSG_NOOP as u16).to_ne_bytes();
    t[0] = len[0];
    t[1] = len[1];
    t[2] = len[2];
    t[3] = len[3];
    t[4] = ty[0];
    t[5] = ty[1];
    t
};

/// The wake-up state a subscription shares with its [`Remote`](crate::Remote)s.
pub struct Wake {
    /// Wake-ups asked for and not yet returned as `ECANCELED`.
    pending: AtomicU64,
    /// The waker socket, connected to the sample socket; `None` when `connect()` was refused.
    waker: Option<OwnedFd>,
    /// The waker's port id: a datagram from it is a token. Meaningful only with `waker`.
    waker_portid: u32,
    /// The subscription is gone: wake-ups are refused.
    closed: AtomicBool,
}

impl Wake {
    /// Opens the waker in the calling thread's network namespace (call it where the sample socket
    /// was opened) and connects it to `sample_portid`.
    pub fn open(sample_portid: u32) -> Result<Self> {
        // SAFETY: plain socket(2) call; the result is checked before use.
        let fd = unsafe { libc::socket(libc::AF_NETLINK, libc::SOCK_RAW | libc::SOCK_CLOEXEC, libc::NETLINK_GENERIC) };
        if fd < 0 {
            return Err(Errno::last_os_error());
        }
        // SAFETY: `fd` is a fresh descriptor that nothing else owns.
        let waker = unsafe { OwnedFd::from_raw_fd(fd) };
        match connect(waker.as_raw_fd(), libc::AF_NETLINK as u16, sample_portid) {
            Ok(()) => {}
            Err(Errno(libc::EPERM)) => {
                return Ok(Wake {
                    pending: AtomicU64::new(0),
                    waker: None,
                    waker_portid: 0,
                    closed: AtomicBool::new(false),
                })
            }
            Err(e) => return Err(e),
        }
        let waker_portid = portid(waker.as_raw_fd())?;
        Ok(Wake { pending: AtomicU64::new(0), waker: Some(waker), waker_portid, closed: AtomicBool::new(false) })
    }

    /// Raises the pending count, then sends a token. Async-signal-safe: one atomic add and one
    /// `send(2)`; no lock, no allocation.
    ///
    /// `ENOTCONN` after the subscription was dropped (nothing is counted); `EPERM` when the waker
    /// could not connect (the wake-up counts, and takes effect at the next receive call).
    pub fn wake(&self) -> Result<()> {
        if self.closed.load(Ordering::SeqCst) {
            return Err(Errno(libc::ENOTCONN));
        }
        self.pending.fetch_add(1, Ordering::SeqCst);
        self.ring()
    }

    /// Sends one token (the count is not touched). `EAGAIN`, a full queue, is a success.
    pub fn ring(&self) -> Result<()> {
        let Some(waker) = &self.waker else {
            return Err(Errno(libc::EPERM));
        };
        // SAFETY: sends the 16 bytes of a static array on a socket this struct owns.
        let n = unsafe {
            libc::send(waker.as_raw_fd(), TOKEN.as_ptr().cast(), TOKEN.len(), libc::MSG_DONTWAIT | libc::MSG_NOSIGNAL)
        };
        if n < 0 {
            let e = Errno::last_os_error();
            if e != Errno(libc::EAGAIN) {
                return Err(e);
            }
        }
        Ok(())
    }

    /// Takes one pending wake-up, if any (no system call).
    pub fn take(&self) -> bool {
        self.pending.load(Ordering::Relaxed) != 0
            && self.pending.fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1)).is_ok()
    }

    /// A wake-up is pending.
    pub fn pending(&self) -> bool {
        self.pending.load(Ordering::SeqCst) != 0
    }

    /// Whether a received datagram is a token: sent by the waker (same namespace, so no source
    /// namespace id). The kernel sets the sender port id, so nothing else can pass for one.
    #[inline]
    pub fn is_token(&self, meta: &Received) -> bool {
        self.waker.is_some() && meta.sender_portid == self.waker_portid && meta.nsid < 0
    }

    /// The subscription is going away: refuse wake-ups from now on, and disconnect the waker so a
    /// late token cannot reach a socket that gets the sample socket's port id next (one that
    /// passed the check already goes to the kernel, which ignores a `NLMSG_NOOP`).
    pub fn close(&self) {
        self.closed.store(true, Ordering::SeqCst);
        if let Some(waker) = &self.waker {
            let _ = connect(waker.as_raw_fd(), libc::AF_UNSPEC as u16, 0);
        }
    }
}

fn connect(fd: RawFd, family: u16, portid: u32) -> Result<()> {
    // SAFETY: sockaddr_nl is a plain C struct for which all-zero bytes are a valid value.
    let mut addr: libc::sockaddr_nl = unsafe { std::mem::zeroed() };
    addr.nl_family = family;
    addr.nl_pid = portid;
    let len = std::mem::size_of::<libc::sockaddr_nl>() as libc::socklen_t;
    // SAFETY: `addr` is a live sockaddr_nl of `len` bytes, only read during the call.
    let rc = unsafe { libc::connect(fd, (&addr as *const libc::sockaddr_nl).cast(), len) };
    if rc == 0 {
        Ok(())
    } else {
        Err(Errno::last_os_error())
    }
}

/// The port id a netlink socket is bound to (`getsockname`).
pub fn portid(fd: RawFd) -> Result<u32> {
    // SAFETY: as in `connect`.
    let mut addr: libc::sockaddr_nl = unsafe { std::mem::zeroed() };
    let mut len = std::mem::size_of::<libc::sockaddr_nl>() as libc::socklen_t;
    // SAFETY: `addr` is a writable sockaddr_nl of `len` bytes; the kernel writes at most that.
    let rc = unsafe { libc::getsockname(fd, (&mut addr as *mut libc::sockaddr_nl).cast(), &mut len) };
    if rc == 0 {
        Ok(addr.nl_pid)
    } else {
        Err(Errno::last_os_error())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_token_is_a_bare_noop_header() {
        assert_eq!(u32::from_ne_bytes(TOKEN[0..4].try_into().unwrap()), 16);
        assert_eq!(u16::from_ne_bytes(TOKEN[4..6].try_into().unwrap()), libc::NLMSG_NOOP as u16);
        assert!(TOKEN[6..].iter().all(|b| *b == 0));
    }
}
