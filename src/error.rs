//! Errors as positive errno values: the texts Rust callers see ([`Errno`]'s `Display`), and the
//! texts `psample_strerror` returns to C callers ([`message`]), each in its caller's terms.

use std::ffi::CStr;
use std::fmt;
use std::io;

use crate::decode::DecodeError;

/// An error of this crate: a positive errno value (`libc::ENOENT`, ...).
///
/// Its `Display` says what went wrong and what to do about it. It converts into
/// [`std::io::Error`] (keeping [`raw_os_error`](io::Error::raw_os_error); `EAGAIN` becomes
/// [`io::ErrorKind::WouldBlock`]), so `?` works in functions that return `io::Result`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Errno(pub i32);

/// `Result` with this crate's [`Errno`].
pub type Result<T> = std::result::Result<T, Errno>;

impl Errno {
    /// The calling thread's `errno`.
    pub fn last_os_error() -> Errno {
        Errno::from(io::Error::last_os_error())
    }

    /// What went wrong and what to do about it, in terms of this crate's Rust API.
    pub fn message(self) -> &'static str {
        rust_message(self.0)
    }

    /// The errno value, positive.
    pub fn raw(self) -> i32 {
        self.0
    }
}

impl From<Errno> for io::Error {
    /// Keeps the errno (`raw_os_error()`), so the kind follows it: `EAGAIN` is
    /// [`io::ErrorKind::WouldBlock`], `EINTR` `Interrupted`, `EPERM` `PermissionDenied`, ...
    fn from(e: Errno) -> io::Error {
        io::Error::from_raw_os_error(e.0)
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

/// The text for Rust callers: names Rust types, fields and methods, never the C API's.
fn rust_message(err: i32) -> &'static str {
    match err.checked_abs().unwrap_or(-1) {
        0 => "success",
        libc::ENOENT => {
            "psample is not available in this network namespace's kernel: load the module \
                         (modprobe psample, or modprobe act_sample which pulls it in) or build the kernel \
                         with CONFIG_PSAMPLE"
        }
        libc::EPERM | libc::EACCES => {
            "not permitted to join the psample \"packets\" group: the process needs \
                                       CAP_NET_ADMIN in the user namespace that owns its network namespace \
                                       (run as root, or grant cap_net_admin, and subscribe before dropping it)"
        }
        libc::EINVAL => {
            "invalid options: a value above its limit (Options::groups above MAX_GROUPS entries, \
                         Options::rcvbuf above MAX_RCVBUF, Options::batch above MAX_BATCH), or no_samples \
                         without config_events (nothing would ever arrive)"
        }
        libc::EAGAIN => {
            "no sample is queued yet (nonblocking subscription): wait until its descriptor \
                         (AsFd) is readable, then receive again; or use AsyncSubscription"
        }
        libc::EINTR => "interrupted by a signal before any sample arrived: receive again",
        libc::ECANCELED => {
            "woken up by Remote::wake() (queued samples stay for the next receive, none is lost): \
             stop receiving, or receive again"
        }
        libc::ENOBUFS => {
            "the kernel dropped samples because the receive buffer was full (reported because \
                          Options::enobufs is on): Subscription::stats() counts them; raise Options::rcvbuf, \
                          receive faster, or sample less often"
        }
        libc::EBADMSG => {
            "malformed psample message: a header or attribute length is wrong or an attribute \
                          has the wrong size"
        }
        libc::ENOMSG => "a well-formed netlink message that is not a psample sample or group event",
        libc::ENODEV => {
            "the psample family went away (module unloaded) while subscribed: open a new \
                         Subscription, or set Options::resubscribe to follow reloads"
        }
        libc::EBADF => {
            "bad file descriptor: Options::netns_fd is not an open network namespace file \
                        (/run/netns/NAME, /proc/PID/ns/net)"
        }
        libc::ENOTCONN => "the Subscription this Remote belongs to was dropped: nothing to wake",
        libc::ENOMEM => "out of memory",
        libc::EMFILE | libc::ENFILE => "too many open files: close some descriptors or raise the limit",
        libc::EAFNOSUPPORT | libc::EPROTONOSUPPORT => "this kernel has no generic netlink sockets",
        libc::EPROTO => "unexpected reply from the kernel's generic netlink controller",
        libc::ENOSPC => "the receive buffer of this subscription is too small for a message (a bug: please report it)",
        _ => "unrecognized error code (see errno(3))",
    }
}

/// The text for an errno value, positive or negative: a static C string, for `psample_strerror`.
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
        libc::ECANCELED => c"woken up by psample_wakeup() (queued samples stay for the next call, none is \
                            lost): stop receiving, or call psample_recv() again",
        libc::ENOTCONN => c"the subscription was closed: nothing to wake",
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

    /// Every errno with a C text has a Rust text of its own, and the Rust texts name no C API.
    #[test]
    fn rust_texts_name_no_c_api() {
        for err in 0..200 {
            let rust = Errno(err).to_string();
            for c_only in ["psample_", "PSAMPLE_", "opts.", "NULL", "psample.h", "struct"] {
                assert!(!rust.contains(c_only), "errno {err}: {rust:?} mentions {c_only}");
            }
            let c_known = !message(err).to_str().unwrap().starts_with("unrecognized");
            assert_eq!(c_known, !rust.starts_with("unrecognized"), "errno {err}: both tables know it");
        }
        assert!(Errno(libc::ENOBUFS).to_string().contains("Options::rcvbuf"));
        assert_eq!(Errno(libc::EPERM).to_string(), format!("{} (errno {})", Errno(libc::EPERM).message(), libc::EPERM));
    }

    #[test]
    fn io_error_keeps_the_errno_and_maps_eagain_to_would_block() {
        let e = io::Error::from(Errno(libc::EAGAIN));
        assert_eq!(e.kind(), io::ErrorKind::WouldBlock);
        assert_eq!(e.raw_os_error(), Some(libc::EAGAIN));
        let e = io::Error::from(Errno(libc::EPERM));
        assert_eq!(e.kind(), io::ErrorKind::PermissionDenied);
        assert_eq!(e.raw_os_error(), Some(libc::EPERM));
        assert_eq!(Errno::from(io::Error::from(Errno(libc::ENODEV))), Errno(libc::ENODEV));
    }
}
