//! Errors: an [`Error`] is the operation that failed ([`Op`]) and its errno ([`Errno`]). Its
//! `Display` says what the library was doing, what the system said, and what to do about it where
//! that operation makes the advice true (an `ENOENT` is "load psample" only when looking up
//! psample's family). The C API returns the errno alone; its texts are `ffi::strerror`'s.

use std::fmt;
use std::io;

use crate::decode::DecodeError;

/// An errno value, positive (`libc::ENOENT`, ...): what the system said, without the operation.
/// [`Error::errno`] gives it; compare an [`Error`] with one directly (`e == Errno(libc::EAGAIN)`).
///
/// Its `Display` is the system's description and the number, without advice: advice depends on
/// the operation, which [`Error`]'s `Display` adds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Errno(pub i32);

/// `Result` with this crate's [`Error`].
pub type Result<T> = std::result::Result<T, Error>;

/// The plumbing's results, before an operation is attached.
pub(crate) type SysResult<T> = std::result::Result<T, Errno>;

impl Errno {
    /// The calling thread's `errno`.
    pub fn last_os_error() -> Errno {
        Errno::from(io::Error::last_os_error())
    }

    /// The errno value, positive.
    pub fn raw(self) -> i32 {
        self.0
    }

    /// This errno as the result of `op`.
    pub fn during(self, op: Op) -> Error {
        Error { op, errno: self }
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
    /// The OS error's number; an [`Error`] carried inside an `io::Error` gives its errno back;
    /// anything else is `EIO`.
    fn from(e: io::Error) -> Errno {
        if let Some(n) = e.raw_os_error() {
            return Errno(n);
        }
        e.get_ref().and_then(|inner| inner.downcast_ref::<Error>()).map_or(Errno(libc::EIO), |inner| inner.errno)
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
        // The system's text ("No such file or directory (os error 2)"), without advice.
        write!(f, "{}", io::Error::from_raw_os_error(self.0))
    }
}

impl std::error::Error for Errno {}

/// What the library was doing when an [`Error`] happened. New operations may be added.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Op {
    /// Checking the [`Options`](crate::Options) ([`Options::validate`](crate::Options::validate)).
    CheckOptions,
    /// Opening `/proc/thread-self/ns/net`, to come back to the calling thread's network namespace
    /// after working in the one of [`Options::netns`](crate::Options::netns).
    OpenOwnNetns,
    /// Entering the network namespace of [`Options::netns`](crate::Options::netns) (`setns`).
    EnterNetns,
    /// Returning the calling thread to its own network namespace (`setns`).
    LeaveNetns,
    /// Joining generic netlink's "notify" group, which announces psample's family coming and
    /// going.
    WatchFamily,
    /// Looking up psample's generic netlink family and groups.
    ResolveFamily,
    /// Opening the sample socket.
    OpenSocket,
    /// Setting the sample socket's options: receive buffer, overrun reporting, all namespaces,
    /// the kernel-side group filter, blocking mode.
    ConfigureSocket,
    /// Joining psample's "packets" (or "config") multicast group.
    JoinGroup,
    /// Opening the socket that sends wake-ups to the sample socket.
    OpenWaker,
    /// Listing psample's groups ([`list_groups`](crate::list_groups)).
    ListGroups,
    /// Receiving ([`Subscription::recv`](crate::Subscription::recv)).
    Receive,
    /// Waking the receiver ([`Remote::wake`](crate::Remote::wake)).
    Wake,
    /// Registering the subscription with tokio's reactor.
    Register,
}

impl fmt::Display for Op {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Op::CheckOptions => "checking the options",
            Op::OpenOwnNetns => "opening /proc/thread-self/ns/net (to return to this thread's network namespace)",
            Op::EnterNetns => "entering the network namespace of Options::netns",
            Op::LeaveNetns => "returning to this thread's network namespace",
            Op::WatchFamily => "joining generic netlink's notify group",
            Op::ResolveFamily => "looking up the psample generic netlink family",
            Op::OpenSocket => "opening a generic netlink socket",
            Op::ConfigureSocket => "setting the sample socket's options",
            Op::JoinGroup => "joining psample's multicast group",
            Op::OpenWaker => "opening the wake-up socket",
            Op::ListGroups => "listing psample's groups",
            Op::Receive => "receiving",
            Op::Wake => "waking the receiver",
            Op::Register => "registering with tokio",
        })
    }
}

/// An error of this crate: the operation that failed and its errno.
///
/// Its `Display` reads "what the library was doing: what the system said: what to do", the last
/// part only where it holds for that operation. Match on [`errno`](Error::errno) (or compare with
/// an [`Errno`]: `e == Errno(libc::ECANCELED)`) and, where it matters, [`op`](Error::op).
///
/// It converts into [`std::io::Error`], so `?` works in functions that return `io::Result`: the
/// kind follows the errno (`EAGAIN` is [`io::ErrorKind::WouldBlock`], `EINTR` `Interrupted`,
/// `EPERM` `PermissionDenied`, ...), and the `io::Error` carries this `Error` (its `Display`, and
/// `get_ref()` gives it back), so [`io::Error::raw_os_error`] is `None`: read
/// `Errno::from(io_error)` instead.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Error {
    op: Op,
    errno: Errno,
}

impl Error {
    /// `errno` as the result of `op`.
    pub fn new(op: Op, errno: Errno) -> Error {
        Error { op, errno }
    }

    /// What the library was doing.
    pub fn op(&self) -> Op {
        self.op
    }

    /// What the system said.
    pub fn errno(&self) -> Errno {
        self.errno
    }

    /// The errno value, positive.
    pub fn raw_os_error(&self) -> i32 {
        self.errno.0
    }

    /// What to do about it, where this operation makes the advice true; `None` where the
    /// system's text says all there is.
    pub fn remedy(&self) -> Option<&'static str> {
        remedy(self.op, self.errno.0)
    }
}

impl PartialEq<Errno> for Error {
    fn eq(&self, other: &Errno) -> bool {
        self.errno == *other
    }
}

impl From<Error> for Errno {
    fn from(e: Error) -> Errno {
        e.errno
    }
}

impl From<Error> for io::Error {
    fn from(e: Error) -> io::Error {
        io::Error::new(io::Error::from(e.errno).kind(), e)
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.op, self.errno)?;
        if let Some(remedy) = self.remedy() {
            write!(f, ": {remedy}")?;
        }
        Ok(())
    }
}

impl std::error::Error for Error {}

/// Attaching the operation to a plumbing result.
pub(crate) trait During<T> {
    fn during(self, op: Op) -> Result<T>;
}

impl<T> During<T> for SysResult<T> {
    fn during(self, op: Op) -> Result<T> {
        self.map_err(|e| e.during(op))
    }
}

/// The advice for `errno` from `op`, in terms of this crate's Rust API (never the C API's).
fn remedy(op: Op, errno: i32) -> Option<&'static str> {
    use libc::*;
    Some(match (op, errno) {
        (_, EMFILE | ENFILE) => "too many open files: close some descriptors or raise the limit (ulimit -n)",
        (Op::CheckOptions, EINVAL) => {
            "a value above its limit (Options::groups above MAX_GROUPS entries, Options::rcvbuf above MAX_RCVBUF, \
             Options::batch above MAX_BATCH), or no_samples without config_events (nothing would ever arrive)"
        }
        (Op::OpenOwnNetns, ENOENT) => {
            "/proc is not mounted here: mount it, or open the subscription from a thread that is in the namespace \
             already, without Options::netns"
        }
        (Op::EnterNetns, EBADF | EINVAL) => {
            "Options::netns is not an open network namespace file (/run/netns/NAME, /proc/PID/ns/net)"
        }
        (Op::EnterNetns | Op::LeaveNetns, EPERM) => {
            "changing network namespace needs CAP_SYS_ADMIN over it (run as root, or from a user namespace that \
             owns it)"
        }
        (Op::ResolveFamily, ENOENT) => {
            "psample is not available in this network namespace's kernel: load the module (modprobe psample, or \
             modprobe act_sample which pulls it in) or build the kernel with CONFIG_PSAMPLE; to subscribe before it \
             is loaded, set Options::wait_family"
        }
        (Op::JoinGroup, EPERM | EACCES) => {
            "joining psample's groups needs CAP_NET_ADMIN in the user namespace that owns the network namespace \
             (run as root, or grant cap_net_admin, and subscribe before dropping it)"
        }
        (
            Op::OpenSocket | Op::OpenWaker | Op::ListGroups | Op::ResolveFamily | Op::WatchFamily,
            EAFNOSUPPORT | EPROTONOSUPPORT,
        ) => "this kernel has no generic netlink sockets",
        (Op::ResolveFamily | Op::ListGroups | Op::WatchFamily, EPROTO) => {
            "unexpected reply from the kernel's generic netlink controller (please report it)"
        }
        (Op::Receive, EAGAIN) => {
            "no sample is queued yet (nonblocking subscription): wait until its descriptor (AsFd) is readable, then \
             receive again; or use AsyncSubscription"
        }
        (Op::Receive, EINTR) => "interrupted by a signal before any sample arrived: receive again",
        (Op::Receive, ECANCELED) => {
            "woken by Remote::wake(): no sample is lost (queued ones stay for the next call): stop receiving, or \
             receive again"
        }
        (Op::Receive, ENOBUFS) => {
            "the kernel dropped samples because the receive buffer was full (reported because Options::enobufs is \
             on): Subscription::stats() counts them; raise Options::rcvbuf, receive faster, or sample less often"
        }
        (Op::Receive, ENODEV) => {
            "the psample family went away (module unloaded) while subscribed: open a new Subscription, or set \
             Options::resubscribe to follow reloads"
        }
        (Op::Receive, ENOSPC) => "a message did not fit the receive buffer (a bug: please report it)",
        (Op::Wake, ENOTCONN) => "the subscription was dropped: there is no receiver to wake",
        (Op::Wake, EPERM) => {
            "the wake-up counts but could not be sent (the subscription was opened without CAP_NET_ADMIN): a \
             blocked receive answers it when the next record arrives, a later one at once"
        }
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The remedy follows the operation: the same errno says "modprobe" only when looking up
    /// psample.
    #[test]
    fn enoent_says_modprobe_only_when_looking_up_psample() {
        let lookup = Errno(libc::ENOENT).during(Op::ResolveFamily).to_string();
        assert!(lookup.starts_with("looking up the psample generic netlink family: "), "{lookup}");
        assert!(lookup.contains("modprobe psample"), "{lookup}");
        let proc = Errno(libc::ENOENT).during(Op::OpenOwnNetns).to_string();
        assert!(!proc.contains("modprobe") && proc.contains("/proc is not mounted"), "{proc}");
        assert!(!Errno(libc::ENOENT).during(Op::Receive).to_string().contains("modprobe"));
        assert_eq!(Errno(libc::ENOENT).during(Op::Receive).remedy(), None);
        assert!(Errno(libc::EPERM).during(Op::JoinGroup).to_string().contains("CAP_NET_ADMIN"));
        assert!(!Errno(libc::EPERM).during(Op::EnterNetns).to_string().contains("CAP_NET_ADMIN"));
        assert!(Errno(libc::EPERM).during(Op::EnterNetns).to_string().contains("CAP_SYS_ADMIN"));
    }

    #[test]
    fn display_is_operation_system_text_remedy() {
        let e = Errno(libc::ECANCELED).during(Op::Receive);
        let system = io::Error::from_raw_os_error(libc::ECANCELED).to_string();
        assert_eq!(e.to_string(), format!("receiving: {system}: {}", e.remedy().unwrap()));
        let plain = Errno(libc::ENOMEM).during(Op::OpenSocket);
        assert_eq!(plain.to_string(), format!("opening a generic netlink socket: {}", Errno(libc::ENOMEM)));
        assert_eq!(Errno(libc::ENOMEM).to_string(), io::Error::from_raw_os_error(libc::ENOMEM).to_string());
    }

    /// The Rust texts name no C API, for every operation and errno.
    #[test]
    fn rust_texts_name_no_c_api() {
        let ops = [
            Op::CheckOptions,
            Op::OpenOwnNetns,
            Op::EnterNetns,
            Op::LeaveNetns,
            Op::WatchFamily,
            Op::ResolveFamily,
            Op::OpenSocket,
            Op::ConfigureSocket,
            Op::JoinGroup,
            Op::OpenWaker,
            Op::ListGroups,
            Op::Receive,
            Op::Wake,
            Op::Register,
        ];
        for op in ops {
            for err in 0..200 {
                // Ours: the operation and the remedy (the system's text is the system's).
                let e = Errno(err).during(op);
                let text = format!("{op}: {}", e.remedy().unwrap_or_default());
                for c_only in ["psample_", "PSAMPLE_", "opts.", "NULL", "psample.h", "struct"] {
                    assert!(!text.contains(c_only), "{op:?} errno {err}: {text:?} mentions {c_only}");
                }
            }
        }
    }

    #[test]
    fn io_error_keeps_the_kind_the_text_and_the_error() {
        let e = io::Error::from(Errno(libc::EAGAIN).during(Op::Receive));
        assert_eq!(e.kind(), io::ErrorKind::WouldBlock);
        assert!(e.to_string().starts_with("receiving: "), "{e}");
        assert_eq!(Errno::from(e), Errno(libc::EAGAIN));
        let e = io::Error::from(Errno(libc::EPERM).during(Op::JoinGroup));
        assert_eq!(e.kind(), io::ErrorKind::PermissionDenied);
        let inner = e.get_ref().and_then(|i| i.downcast_ref::<Error>()).copied();
        assert_eq!(inner.map(|i| (i.op(), i.errno())), Some((Op::JoinGroup, Errno(libc::EPERM))));
        // A plain errno converts with its number.
        let e = io::Error::from(Errno(libc::EPERM));
        assert_eq!((e.kind(), e.raw_os_error()), (io::ErrorKind::PermissionDenied, Some(libc::EPERM)));
        assert_eq!(Errno::from(io::Error::from(Errno(libc::ENODEV))), Errno(libc::ENODEV));
    }

    #[test]
    fn an_error_compares_with_its_errno() {
        let e = Errno(libc::ECANCELED).during(Op::Receive);
        assert!(e == Errno(libc::ECANCELED) && e != Errno(libc::EAGAIN));
        assert_eq!(e.raw_os_error(), libc::ECANCELED);
        assert_eq!(Errno::from(e), Errno(libc::ECANCELED));
    }
}
