//! Running a step inside another network namespace, then coming back.

use std::fs::File;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd};

use crate::error::{During, Errno, Op, Result, SysResult};

/// Runs `f` with the calling thread in the network namespace `ns_fd`, then returns the thread to
/// the namespace it started in. Sockets created by `f` stay in `ns_fd`'s namespace.
pub fn with_netns<T>(ns_fd: BorrowedFd<'_>, f: impl FnOnce() -> Result<T>) -> Result<T> {
    let home = File::open("/proc/thread-self/ns/net").map_err(Errno::from).during(Op::OpenOwnNetns)?;
    // setns says EINVAL for an open fd that is not a network namespace: for the caller that is a
    // bad namespace descriptor.
    setns(ns_fd).map_err(|e| if e.0 == libc::EINVAL { Errno(libc::EBADF) } else { e }).during(Op::EnterNetns)?;
    let result = f();
    // Coming back can only fail if the kernel refuses our own namespace; report it rather than
    // carry on in the wrong one.
    setns(home.as_fd()).during(Op::LeaveNetns)?;
    result
}

fn setns(fd: BorrowedFd<'_>) -> SysResult<()> {
    // SAFETY: setns only reads its integer arguments; `fd` is open for the call (borrowed).
    let rc = unsafe { libc::setns(fd.as_raw_fd(), libc::CLONE_NEWNET) };
    if rc == 0 {
        Ok(())
    } else {
        Err(Errno::last_os_error())
    }
}
