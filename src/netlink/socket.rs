//! The sample socket: one generic netlink socket joined to psample's groups, tuned for a high
//! sample rate. Reading it is the job of `recv`; this module only sets it up and queries it.

use std::os::fd::{AsRawFd, RawFd};

use neli::{consts::socket::NlFamily, socket::NlSocket, utils::Groups};

use super::{filter, sockopt};
use crate::error::{Errno, Result};

use crate::uapi::netlink::{
    NETLINK_ADD_MEMBERSHIP, NETLINK_LISTEN_ALL_NSID, NETLINK_NO_ENOBUFS, SK_MEMINFO_DROPS, SK_MEMINFO_VARS,
    SOL_NETLINK, SO_MEMINFO,
};

pub struct SampleSocket {
    sock: NlSocket,
}

impl SampleSocket {
    /// Opens an unbound-to-groups generic netlink socket (close-on-exec) in the calling thread's
    /// network namespace.
    pub fn open() -> Result<Self> {
        let sock = NlSocket::connect(NlFamily::Generic, None, Groups::empty()).map_err(Errno::from)?;
        Ok(SampleSocket { sock })
    }

    pub fn fd(&self) -> RawFd {
        self.sock.as_raw_fd()
    }

    /// Joins a multicast group by id (`NETLINK_ADD_MEMBERSHIP`, so ids above 32 work).
    pub fn join(&self, group: u32) -> Result<()> {
        sockopt::set(self.fd(), SOL_NETLINK, NETLINK_ADD_MEMBERSHIP, &group)
    }

    /// Asks for `bytes` of receive buffer: `SO_RCVBUFFORCE` (needs CAP_NET_ADMIN, ignores
    /// `rmem_max`), else `SO_RCVBUF` (capped by `net.core.rmem_max`). `EINVAL` above `i32::MAX`.
    pub fn set_rcvbuf(&self, bytes: u32) -> Result<()> {
        let v = i32::try_from(bytes).map_err(|_| Errno(libc::EINVAL))?;
        sockopt::set_int(self.fd(), libc::SOL_SOCKET, libc::SO_RCVBUFFORCE, v)
            .or_else(|_| sockopt::set_int(self.fd(), libc::SOL_SOCKET, libc::SO_RCVBUF, v))
    }

    /// Overruns are counted (see `kernel_drops`) but not reported as a one-time `ENOBUFS` that
    /// would also make the kernel drop everything until the queue is empty.
    pub fn set_no_enobufs(&self, on: bool) -> Result<()> {
        sockopt::set_int(self.fd(), SOL_NETLINK, NETLINK_NO_ENOBUFS, i32::from(on))
    }

    pub fn set_listen_all_nsid(&self) -> Result<()> {
        sockopt::set_int(self.fd(), SOL_NETLINK, NETLINK_LISTEN_ALL_NSID, 1)
    }

    pub fn set_nonblocking(&self, on: bool) -> Result<()> {
        if on { self.sock.nonblock() } else { self.sock.block() }.map_err(Errno::from)
    }

    /// Attaches (or replaces) the kernel-side group filter for a non-empty group list of at most
    /// [`MAX_GROUPS`](crate::options::MAX_GROUPS) entries (checked by `Options::validate`).
    pub fn set_group_filter(&self, family: u16, groups: &[u32]) -> Result<()> {
        if groups.is_empty() {
            return Err(Errno(libc::EINVAL));
        }
        let mut prog = filter::group_filter(family, groups);
        let fprog = libc::sock_fprog { len: prog.len() as u16, filter: prog.as_mut_ptr() };
        sockopt::set(self.fd(), libc::SOL_SOCKET, libc::SO_ATTACH_FILTER, &fprog)
    }
}

/// Messages the kernel dropped on the socket `fd` because its buffer was full (`sk_drops`, a u32
/// that wraps). The caller keeps `fd` open during the call.
pub fn kernel_drops(fd: RawFd) -> Result<u32> {
    sockopt::get::<[u32; SK_MEMINFO_VARS]>(fd, libc::SOL_SOCKET, SO_MEMINFO).map(|m| m[SK_MEMINFO_DROPS])
}

/// The receive buffer the kernel granted the socket `fd`, in bytes (the kernel's doubled,
/// accounted value). The caller keeps `fd` open during the call.
pub fn rcvbuf(fd: RawFd) -> Result<u32> {
    sockopt::get::<i32>(fd, libc::SOL_SOCKET, libc::SO_RCVBUF).map(|v| v.max(0) as u32)
}
