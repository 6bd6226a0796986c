//! What a subscription asks for, and every rule about it: the limits and the flag combinations
//! live here once, so Rust callers and the C API (which only converts) get the same errors.

use std::os::fd::OwnedFd;
use std::sync::Arc;

use crate::error::{Errno, Op, Result};

/// Most groups one subscription may list: the kernel-side filter spends two cBPF instructions
/// per group and cBPF programs are limited to 4096.
pub const MAX_GROUPS: usize = 1024;
/// Largest receive buffer one may ask for: the kernel doubles the value into an `int`.
pub const MAX_RCVBUF: u32 = 1 << 30;
/// Default receive buffer request. The kernel doubles it; big enough to absorb bursts of
/// hundreds of thousands of small samples while the reader catches up.
pub const DEFAULT_RCVBUF: u32 = 32 << 20;
/// Most datagrams read per system call (each costs a 68 KiB receive slot).
pub const MAX_BATCH: u32 = 1024;
/// Datagrams read per system call when `batch` is 0.
pub const DEFAULT_BATCH: u32 = 16;

/// How to subscribe. `Default` is: blocking, all groups, this namespace, kernel senders only,
/// samples only, a 32 MiB receive buffer, overruns counted rather than reported as `ENOBUFS`.
///
/// Build it with `Options::default()` and the chainable setters (`.groups([7]).batch(64)`), or
/// set its public fields; new options arrive as new fields, hence `#[non_exhaustive]`.
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub struct Options {
    /// Return `EAGAIN` when nothing is queued, instead of waiting.
    pub nonblocking: bool,
    /// Requested receive buffer in bytes, at most [`MAX_RCVBUF`]; 0 for [`DEFAULT_RCVBUF`].
    pub rcvbuf: u32,
    /// Report overruns as a one-time `ENOBUFS` (the kernel's classic behaviour).
    pub enobufs: bool,
    /// Only these groups (filtered in the kernel), at most [`MAX_GROUPS`]; empty for all.
    pub groups: Vec<u32>,
    /// Subscribe in this network namespace (an open `/proc/PID/ns/net` or `/run/netns/NAME`),
    /// held open by these options and their clones: set it with [`Options::netns`].
    pub netns: Option<Arc<OwnedFd>>,
    /// Also receive samples from other namespaces that have an id here (`NETLINK_LISTEN_ALL_NSID`).
    pub all_netns: bool,
    /// Also deliver samples sent by userspace processes (e.g. VPP's sflow plugin).
    pub accept_userspace: bool,
    /// Also deliver group created/deleted events.
    pub config_events: bool,
    /// Do not join the sample group; needs `config_events` (else nothing would ever arrive).
    pub no_samples: bool,
    /// Follow an unload and reload of the psample module instead of failing with `ENODEV`.
    pub resubscribe: bool,
    /// Datagrams read per system call, at most [`MAX_BATCH`]; 0 for [`DEFAULT_BATCH`].
    pub batch: u32,
    /// Open even when psample is not loaded, and join its groups when the family appears.
    pub wait_family: bool,
}

impl Options {
    /// Checks every rule: `EINVAL` for a value out of range or a subscription that could never
    /// receive anything.
    pub fn validate(&self) -> Result<()> {
        let invalid = Err(Errno(libc::EINVAL).during(Op::CheckOptions));
        if self.groups.len() > MAX_GROUPS || self.rcvbuf > MAX_RCVBUF || self.batch > MAX_BATCH {
            return invalid;
        }
        if self.no_samples && !self.config_events {
            return invalid;
        }
        Ok(())
    }

    /// The receive buffer to ask for, defaults applied.
    pub fn rcvbuf_or_default(&self) -> u32 {
        if self.rcvbuf == 0 {
            DEFAULT_RCVBUF
        } else {
            self.rcvbuf
        }
    }

    /// The batch size, defaults applied.
    pub fn batch_or_default(&self) -> usize {
        if self.batch == 0 {
            DEFAULT_BATCH as usize
        } else {
            self.batch as usize
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_valid() {
        assert_eq!(Options::default().validate(), Ok(()));
        assert_eq!(Options::default().batch_or_default(), DEFAULT_BATCH as usize);
        assert_eq!(Options::default().rcvbuf_or_default(), DEFAULT_RCVBUF);
    }

    #[test]
    fn limits_are_inclusive() {
        let at_limits =
            Options { groups: vec![1; MAX_GROUPS], rcvbuf: MAX_RCVBUF, batch: MAX_BATCH, ..Options::default() };
        assert_eq!(at_limits.validate(), Ok(()));
        for over in [
            Options { groups: vec![1; MAX_GROUPS + 1], ..Options::default() },
            Options { rcvbuf: MAX_RCVBUF + 1, ..Options::default() },
            Options { batch: MAX_BATCH + 1, ..Options::default() },
        ] {
            assert_eq!(over.validate(), Err(Errno(libc::EINVAL).during(Op::CheckOptions)));
        }
    }

    #[test]
    fn no_samples_needs_config_events() {
        let events_only = Options { no_samples: true, config_events: true, ..Options::default() };
        assert_eq!(events_only.validate(), Ok(()));
        let nothing = Options { no_samples: true, ..Options::default() };
        assert_eq!(nothing.validate(), Err(Errno(libc::EINVAL).during(Op::CheckOptions)));
    }
}
