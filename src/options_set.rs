//! Chainable setters for [`Options`], so callers outside the crate can build it although it is
//! `#[non_exhaustive]` (new options arrive as new fields): `Options::default().groups([7]).batch(64)`.
//! The fields stay public: `opts.rcvbuf = 8 << 20;` works as well.

use std::os::fd::{AsRawFd, RawFd};

use crate::options::Options;

impl Options {
    /// Returns immediately with `EAGAIN` when nothing is queued, instead of waiting. The async
    /// subscription sets it by itself.
    pub fn nonblocking(mut self, on: bool) -> Self {
        self.nonblocking = on;
        self
    }

    /// Requested receive buffer in bytes, at most [`MAX_RCVBUF`](crate::MAX_RCVBUF); 0 for
    /// [`DEFAULT_RCVBUF`](crate::DEFAULT_RCVBUF).
    pub fn rcvbuf(mut self, bytes: u32) -> Self {
        self.rcvbuf = bytes;
        self
    }

    /// Reports overruns as a one-time `ENOBUFS` (the kernel's classic behaviour) instead of only
    /// counting them.
    pub fn enobufs(mut self, on: bool) -> Self {
        self.enobufs = on;
        self
    }

    /// Receives only these groups (filtered in the kernel), at most [`MAX_GROUPS`](crate::MAX_GROUPS);
    /// none for every group.
    pub fn groups(mut self, groups: impl IntoIterator<Item = u32>) -> Self {
        self.groups = groups.into_iter().collect();
        self
    }

    /// Subscribes in the network namespace of this open `/proc/PID/ns/net` or `/run/netns/NAME`
    /// file. The descriptor is only used while opening; the caller keeps it.
    pub fn netns(mut self, netns: &impl AsRawFd) -> Self {
        self.netns_fd = Some(netns.as_raw_fd());
        self
    }

    /// As [`netns`](Options::netns), from a raw descriptor (`None`: the calling thread's namespace).
    pub fn netns_fd(mut self, fd: Option<RawFd>) -> Self {
        self.netns_fd = fd;
        self
    }

    /// Also receives samples from other namespaces that have an id in this one.
    pub fn all_netns(mut self, on: bool) -> Self {
        self.all_netns = on;
        self
    }

    /// Also delivers samples sent by userspace processes (e.g. VPP's sflow plugin).
    pub fn accept_userspace(mut self, on: bool) -> Self {
        self.accept_userspace = on;
        self
    }

    /// Also delivers group created/deleted events ([`RecordKind`](crate::RecordKind)).
    pub fn config_events(mut self, on: bool) -> Self {
        self.config_events = on;
        self
    }

    /// Does not join the sample group; needs [`config_events`](Options::config_events).
    pub fn no_samples(mut self, on: bool) -> Self {
        self.no_samples = on;
        self
    }

    /// Follows an unload and reload of the psample module instead of failing with `ENODEV`.
    pub fn resubscribe(mut self, on: bool) -> Self {
        self.resubscribe = on;
        self
    }

    /// Opens even when psample is not loaded yet, and joins as soon as the module appears
    /// (`recv` waits until then; a nonblocking one gives `EAGAIN`). With [`Options::resubscribe`]
    /// it survives any sequence of unload and load.
    pub fn wait_family(mut self, on: bool) -> Self {
        self.wait_family = on;
        self
    }

    /// Datagrams read per system call, at most [`MAX_BATCH`](crate::MAX_BATCH); 0 for
    /// [`DEFAULT_BATCH`](crate::DEFAULT_BATCH).
    pub fn batch(mut self, datagrams: u32) -> Self {
        self.batch = datagrams;
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn setters_set_their_field_only() {
        let o = Options::default().groups([7, 8]).rcvbuf(1 << 20).batch(64).nonblocking(true).netns_fd(Some(3));
        assert_eq!(o.groups, vec![7, 8]);
        assert_eq!((o.rcvbuf, o.batch, o.nonblocking, o.netns_fd), (1 << 20, 64, true, Some(3)));
        assert!(!o.enobufs && !o.all_netns && !o.accept_userspace && !o.config_events);
        let o = Options::default().config_events(true).no_samples(true).resubscribe(true).accept_userspace(true);
        assert!(o.config_events && o.no_samples && o.resubscribe && o.accept_userspace);
        assert_eq!(o.validate(), Ok(()));
        let o = Options::default().all_netns(true).enobufs(true);
        assert!(o.all_netns && o.enobufs);
    }
}
