//! Chainable setters for [`Options`], so callers outside the crate can build it although it is
//! `#[non_exhaustive]` (new options arrive as new fields): `Options::default().groups([7]).batch(64)`.
//! The fields stay public: `opts.rcvbuf = 8 << 20;` works as well.

use std::os::fd::OwnedFd;
use std::sync::Arc;

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
    /// file, which the options take and keep open (shared by their clones) until they are
    /// dropped: `.netns(File::open("/run/netns/blue")?)`. To keep a descriptor of your own, pass
    /// a duplicate (`fd.try_clone_to_owned()?`).
    pub fn netns(mut self, netns: impl Into<OwnedFd>) -> Self {
        self.netns = Some(Arc::new(netns.into()));
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
        let o = Options::default().groups([7, 8]).rcvbuf(1 << 20).batch(64).nonblocking(true);
        assert_eq!(o.groups, vec![7, 8]);
        assert_eq!((o.rcvbuf, o.batch, o.nonblocking), (1 << 20, 64, true));
        assert!(o.netns.is_none());
        assert!(!o.enobufs && !o.all_netns && !o.accept_userspace && !o.config_events);
        let o = Options::default().config_events(true).no_samples(true).resubscribe(true).accept_userspace(true);
        assert!(o.config_events && o.no_samples && o.resubscribe && o.accept_userspace);
        assert_eq!(o.validate(), Ok(()));
        let o = Options::default().all_netns(true).enobufs(true);
        assert!(o.all_netns && o.enobufs);
    }

    /// The options own the namespace file: it stays open after the caller's handle is gone, as
    /// long as the options (or a clone) live, and closes with the last of them.
    #[test]
    fn netns_keeps_the_file_open_until_the_options_go() {
        use std::os::fd::AsRawFd;
        // (device, inode) of what `fd` refers to now, or None when it is closed.
        let identity = |fd: i32| {
            // SAFETY: fstat writes into a local stat; a closed fd gives EBADF.
            let mut st: libc::stat = unsafe { std::mem::zeroed() };
            (unsafe { libc::fstat(fd, &mut st) } == 0).then_some((st.st_dev, st.st_ino))
        };
        let file = std::fs::File::open("/proc/self/ns/net").unwrap();
        let raw = file.as_raw_fd();
        let ns = identity(raw);
        let o = Options::default().netns(file);
        let clone = o.clone();
        assert_eq!(o.netns.as_ref().unwrap().as_raw_fd(), raw);
        drop(o);
        assert_eq!(identity(raw), ns, "a clone still holds it");
        drop(clone);
        // Closed; another test thread may have got the number again, for another file.
        assert_ne!(identity(raw), ns, "closed with the last options");
    }
}
