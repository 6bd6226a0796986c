//! Errors as positive errno values, and the texts `psample_strerror` returns.

use std::ffi::CStr;
use std::fmt;
use std::io;

use crate::decode::DecodeError;

/// A positive errno value (`libc::ENOENT`, ...). The C API returns its negation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Errno(pub i32);

pub type Result<T> = std::result::Result<T, Errno>;

impl Errno {
    pub fn last_os_error() -> Errno {
        Errno::from(io::Error::last_os_error())
    }

    /// What went wrong and what to do about it.
    pub fn message(self) -> &'static str {
        message(self.0).to_str().unwrap_or("")
    }
}

impl From<io::Error> for Errno {
    fn from(e: io::Error) -> Errno {
        Errno(e.raw_os_error().unwrap_or(libc::EIO))
    }
}

impl From<DecodeError> for Errno {
    fn from(e: DecodeError) -> Errno {
        match e {
            DecodeError::NotPsample => Errno(libc::ENOMSG),
            _ => Errno(libc::EBADMSG),
        }
    }
}

impl fmt::Display for Errno {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} (errno {})", self.message(), self.0)
    }
}

impl std::error::Error for Errno {}

/// The text for an errno value, positive or negative: a static C string.
pub fn message(err: i32) -> &'static CStr {
    match err.checked_abs().unwrap_or(-1) {
        0 => c"success",
        libc::ENOENT => c"psample is not available in this network namespace's kernel: load the module \
                         (modprobe psample, or modprobe act_sample which pulls it in) or build the kernel \
                         with CONFIG_PSAMPLE",
        libc::EPERM | libc::EACCES => c"not permitted to join the psample \"packets\" group: the process needs \
                                       CAP_NET_ADMIN in the user namespace that owns its network namespace \
                                       (run as root, or grant cap_net_admin, and subscribe before dropping it)",
        libc::EINVAL => c"invalid argument: a NULL pointer, a struct size smaller than this library's first \
                         version, unknown flags, non-zero reserved bytes or non-zero bytes past the fields this library knows (the program was built \
                         against a newer psample.h), or a value out of range; see psample.h",
        libc::EAGAIN => c"no sample is queued yet (non-blocking handle): poll psample_fd() for POLLIN, then call again",
        libc::EINTR => c"interrupted by a signal before any sample arrived: call again (to stop a blocked \
                        psample_recv() from a signal handler, call psample_wakeup() there)",
        libc::ENOBUFS => c"the kernel dropped samples because the receive buffer was full (reported because \
                          PSAMPLE_SUB_ENOBUFS is set): psample_stats() counts them; raise opts.rcvbuf, read \
                          faster, or sample less often",
        libc::EBADMSG => c"malformed psample message: a header or attribute length is wrong or an attribute \
                          has the wrong size",
        libc::ENOMSG => c"a well-formed netlink message that is not a psample sample or group event",
        libc::ENODEV => c"the psample family went away (module unloaded) while subscribed: close and subscribe \
                         again, or subscribe with PSAMPLE_SUB_RESUBSCRIBE to follow reloads",
        libc::EBADF => c"bad file descriptor: opts.netns_fd is not an open network namespace file \
                         (/run/netns/NAME, /proc/PID/ns/net)",
        libc::ECANCELED => c"woken up by psample_wakeup() before any sample was queued (no sample is lost): \
                            stop receiving, or call psample_recv() again",
        libc::ENOMEM => c"out of memory",
        libc::EMFILE | libc::ENFILE => c"too many open files: close some descriptors or raise the limit",
        libc::EAFNOSUPPORT | libc::EPROTONOSUPPORT => c"this kernel has no generic netlink sockets",
        libc::EPROTO => c"unexpected reply from the kernel's generic netlink controller",
        libc::ENOSPC => c"the receive buffer of this handle is too small for a message (a bug: please report it)",
        _ => c"unrecognized error code (see errno(3))",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn negative_and_positive_give_the_same_text() {
        assert_eq!(message(-libc::ENOENT), message(libc::ENOENT));
        assert!(message(libc::ENOENT).to_str().unwrap().contains("modprobe psample"));
        assert!(message(-libc::EPERM).to_str().unwrap().contains("CAP_NET_ADMIN"));
        assert!(message(i32::MIN).to_str().unwrap().starts_with("unrecognized"));
        assert!(message(123456).to_str().unwrap().starts_with("unrecognized"));
    }
}
