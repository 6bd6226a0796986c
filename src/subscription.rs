//! A subscription to psample: opens and joins the sample socket, then turns datagrams into decoded
//! records, applying the sender policy, following module reloads and keeping the statistics.
//!
//! Threads: one thread receives ([`Subscription::recv`] takes `&mut self`); any thread may read
//! the counters or wake the receiver through a [`Remote`], which shares only the parts built for
//! that (atomic counters, the socket for its read-only queries, the wake-up eventfd).

use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use crate::decode::{self, split_header, DecodeError, RecordKind, Sample};
use crate::error::{Errno, Result};
use crate::netlink::{control, netns, PsampleIds, SampleSocket};
use crate::options::{self, Options};
use crate::recv::{Received, RecvBuffers};
use crate::stats::{self, GroupStats, SeqTracker, SharedStats, Stats};
use crate::uapi::{self, ctrl};

/// What other threads may touch while one thread receives.
struct Shared {
    sock: SampleSocket,
    stats: SharedStats,
    /// Wake-ups asked for and not yet returned as `ECANCELED`. The count is the truth; the eventfd
    /// only rings a receiver that sleeps in poll().
    wakeups: AtomicU64,
    doorbell: OwnedFd,
}

impl Shared {
    fn stats(&self) -> Stats {
        let mut st = self.stats.load();
        st.kernel_drops = u64::from(self.sock.kernel_drops().unwrap_or(0));
        st.rcvbuf = self.sock.rcvbuf().unwrap_or(0);
        st
    }

    /// Async-signal-safe: one lock-free atomic add and one write(2); no lock, no allocation.
    fn wake(&self) -> Result<()> {
        self.wakeups.fetch_add(1, Ordering::SeqCst);
        let one = 1u64;
        // SAFETY: writes the 8 bytes of a live u64 to the eventfd this struct owns.
        let n = unsafe { libc::write(self.doorbell.as_raw_fd(), (&one as *const u64).cast(), 8) };
        // EAGAIN: the eventfd counter is saturated, so it is readable already; the wake-up counts.
        if n < 0 && Errno::last_os_error() != Errno(libc::EAGAIN) {
            return Err(Errno::last_os_error());
        }
        Ok(())
    }

    /// Takes one pending wake-up, if any.
    fn take_wakeup(&self) -> bool {
        self.wakeups.fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1)).is_ok()
    }

    /// Empties the eventfd after it rang (the pending count stays in `wakeups`).
    fn quiet_doorbell(&self) {
        let mut count = 0u64;
        // SAFETY: reads at most 8 bytes into a live u64 from the nonblocking eventfd this struct owns.
        unsafe { libc::read(self.doorbell.as_raw_fd(), (&mut count as *mut u64).cast(), 8) };
    }
}

/// A handle other threads use on a [`Subscription`] while it receives: read its counters, wake
/// it. Cheap to clone; keeps the socket open until the last clone and the subscription are gone.
#[derive(Clone)]
pub struct Remote(Arc<Shared>);

impl Remote {
    /// As [`Subscription::stats`], from any thread.
    pub fn stats(&self) -> Stats {
        self.0.stats()
    }

    /// Makes the receiver's blocked `recv`, or its next one that would block (or return `EAGAIN`),
    /// return `ECANCELED`: once per call. Queued samples are returned first. Async-signal-safe.
    pub fn wake(&self) -> Result<()> {
        self.0.wake()
    }
}

/// A subscription to psample's samples: a generic netlink socket joined to its group, with
/// receive buffers allocated once. `Send`: move it to the thread (or task) that receives.
/// For an event loop it is [`AsFd`](std::os::fd::AsFd); with the `tokio` feature,
/// `AsyncSubscription` wraps it.
pub struct Subscription {
    shared: Arc<Shared>,
    opts: Options,
    family: Family,
    rx: RecvBuffers,
    seq: SeqTracker,
}

impl Subscription {
    /// Checks `opts` ([`Options::validate`]), then opens and joins the sample socket. With
    /// `wait_family`, succeeds when psample is not registered yet and joins when it appears.
    pub fn open(opts: Options) -> Result<Self> {
        opts.validate()?;
        let (ids, sock) = match opts.netns_fd {
            Some(fd) => netns::with_netns(fd, || open_socket(&opts))?,
            None => open_socket(&opts)?,
        };
        // SAFETY: plain eventfd(2) call; the result is checked before use.
        let efd = unsafe { libc::eventfd(0, libc::EFD_CLOEXEC | libc::EFD_NONBLOCK) };
        if efd < 0 {
            return Err(Errno::last_os_error());
        }
        // SAFETY: `efd` is a fresh descriptor that nothing else owns.
        let doorbell = unsafe { OwnedFd::from_raw_fd(efd) };
        let shared = Shared { sock, stats: SharedStats::default(), wakeups: AtomicU64::new(0), doorbell };
        shared.stats.joined.store(u64::from(ids.is_some()), Ordering::Relaxed);
        Ok(Subscription {
            rx: RecvBuffers::new(opts.batch_or_default(), opts.all_netns),
            opts,
            family: Family {
                gone: ids.is_none(),
                joined_once: ids.is_some(),
                ids: ids.unwrap_or(PsampleIds { family: 0, packets_group: 0, config_group: 0 }),
            },
            shared: Arc::new(shared),
            seq: SeqTracker::default(),
        })
    }

    /// The descriptor to poll for readability (also through `AsFd`/`AsRawFd`).
    pub fn fd(&self) -> RawFd {
        self.shared.sock.fd()
    }

    /// Counters, with the kernel's drop count and the buffer size read from the socket now.
    pub fn stats(&self) -> Stats {
        self.shared.stats()
    }

    /// A handle for other threads: counters and wake-up.
    pub fn remote(&self) -> Remote {
        Remote(self.shared.clone())
    }

    /// Delivery and loss per (nsid, group) seen so far, in a stable order.
    pub fn group_stats(&self) -> impl Iterator<Item = &GroupStats> {
        self.seq.groups()
    }

    /// Receives up to `max` records, calling `each` for every one, and returns how many.
    ///
    /// Blocks until at least one record is ready unless the subscription is nonblocking (then
    /// `EAGAIN`). `EINTR` on a signal; `ECANCELED` once per [`Remote::wake`], when nothing is
    /// queued. The records borrow this subscription's buffers.
    ///
    /// Under load this is one `recvmmsg` per call. Only when nothing is queued does a blocking
    /// subscription poll the socket and the wake-up eventfd, then read again.
    pub fn recv(&mut self, max: usize, each: impl FnMut(&Sample<'_>)) -> Result<usize> {
        self.recv_into(max, &mut EachSample(each))
    }

    /// [`recv`](Subscription::recv) with the records decoded straight into `sink`'s (the C API's
    /// caller's array).
    pub(crate) fn recv_into(&mut self, max: usize, sink: &mut impl Sink) -> Result<usize> {
        if max == 0 {
            return Ok(0);
        }
        loop {
            if self.family.gone && self.family.joined_once && !self.opts.resubscribe {
                return Err(Errno(libc::ENODEV));
            }
            let n = match self.rx.read(self.shared.sock.fd(), max) {
                Ok(n) => n,
                Err(Errno(libc::EAGAIN)) => {
                    self.wait()?;
                    continue;
                }
                Err(Errno(libc::ENOBUFS)) => {
                    stats::add(&self.shared.stats.enobufs, 1);
                    if self.opts.enobufs {
                        return Err(Errno(libc::ENOBUFS));
                    }
                    continue;
                }
                Err(e) => return Err(e),
            };
            let delivered = self.deliver(n, sink);
            if delivered > 0 {
                return Ok(delivered);
            }
        }
    }

    /// Nothing is queued: `ECANCELED` for a pending wake-up, `EAGAIN` when nonblocking, else
    /// sleeps until the socket or the eventfd is readable (`EINTR` on a signal).
    fn wait(&self) -> Result<()> {
        if self.shared.take_wakeup() {
            return Err(Errno(libc::ECANCELED));
        }
        if self.opts.nonblocking {
            return Err(Errno(libc::EAGAIN));
        }
        let mut fds = [
            libc::pollfd { fd: self.shared.sock.fd(), events: libc::POLLIN, revents: 0 },
            libc::pollfd { fd: self.shared.doorbell.as_raw_fd(), events: libc::POLLIN, revents: 0 },
        ];
        // SAFETY: `fds` is a live array of two pollfd for the duration of the call.
        if unsafe { libc::poll(fds.as_mut_ptr(), 2, -1) } < 0 {
            return Err(Errno::last_os_error());
        }
        if fds[1].revents != 0 {
            self.shared.quiet_doorbell();
            if self.shared.take_wakeup() {
                return Err(Errno(libc::ECANCELED));
            }
        }
        Ok(())
    }

    /// Decodes the `n` datagrams of the last read into `sink`, counts.
    fn deliver(&mut self, n: usize, sink: &mut impl Sink) -> usize {
        let Subscription { shared, opts, family, rx, seq } = self;
        let st = &shared.stats;
        let mut delivered = 0;
        for i in 0..n {
            let meta = rx.meta(i);
            if meta.truncated {
                stats::add(&st.truncated, 1);
                decode::repair_truncated(rx.message_mut(i));
            }
            let Ok((ty, command, msg)) = split_header(rx.message(i)) else {
                stats::add(&st.decode_errors, 1);
                continue;
            };
            if ty == ctrl::FAMILY_ID {
                if meta.sender_portid == 0 {
                    let event = family_event(command, msg, family.ids.family);
                    family.on_event(event, shared, opts);
                }
                continue;
            }
            if ty != family.ids.family || family.gone {
                continue;
            }
            if meta.sender_portid != 0 && !opts.accept_userspace {
                stats::add(&st.rejected_userspace, 1);
                continue;
            }
            let kind = match decode::record_kind(ty, command) {
                Ok(kind) => kind,
                Err(_) => continue, // not a sample or group event
            };
            let wanted = if kind == RecordKind::Sample { !opts.no_samples } else { opts.config_events };
            if !wanted {
                continue;
            }
            // Counted once the record decoded, before the caller sees it.
            let count = |group: u32, group_seq: Option<u32>| {
                if kind != RecordKind::Sample {
                    stats::add(&st.config_events, 1);
                    return 0;
                }
                stats::add(&st.delivered, 1);
                let lost = seq.observe(meta.nsid, group, group_seq.filter(|_| meta.sender_portid == 0));
                stats::add(&st.seq_gaps, lost);
                st.groups_tracked.store(seq.tracked(), Ordering::Relaxed);
                lost
            };
            match sink.take(kind, msg, meta, count) {
                Ok(()) => delivered += 1,
                Err(_) => stats::add(&st.decode_errors, 1),
            }
        }
        delivered
    }
}

/// Where [`Subscription::recv_into`] puts records.
pub(crate) trait Sink {
    /// Decodes the record `msg` (a whole psample message of `kind`, from a datagram with `meta`)
    /// and delivers it. Once it decoded, calls `count(group, group_seq if present)` exactly once,
    /// before delivering, for the record's `seq_lost`. An error: the record is malformed and not
    /// delivered (`count` not called).
    fn take(
        &mut self,
        kind: RecordKind,
        msg: &[u8],
        meta: Received,
        count: impl FnOnce(u32, Option<u32>) -> u64,
    ) -> std::result::Result<(), DecodeError>;
}

/// The Rust API's sink: a [`Sample`] on the stack, handed to the caller's closure.
struct EachSample<F>(F);

impl<F: FnMut(&Sample<'_>)> Sink for EachSample<F> {
    #[inline]
    fn take(
        &mut self,
        kind: RecordKind,
        msg: &[u8],
        meta: Received,
        count: impl FnOnce(u32, Option<u32>) -> u64,
    ) -> std::result::Result<(), DecodeError> {
        let mut s = Sample {
            kind,
            nsid: meta.nsid,
            sender_portid: meta.sender_portid,
            truncated: meta.truncated,
            ..Sample::default()
        };
        decode::decode_attrs_into(msg, &mut s)?;
        s.seq_lost = count(s.group, s.has(uapi::attr::GROUP_SEQ).then_some(s.group_seq));
        (self.0)(&s);
        Ok(())
    }
}

/// Whether and with which ids the handle is joined to psample.
struct Family {
    ids: PsampleIds,
    /// psample is not registered (it went away, or with `wait_family` was never there): the
    /// handle is joined to no psample group.
    gone: bool,
    /// The handle was joined at least once (so a removal is final without `resubscribe`).
    joined_once: bool,
}

impl Family {
    /// Follows psample going away and coming back.
    fn on_event(&mut self, event: FamilyEvent, shared: &Shared, opts: &Options) {
        let st = &shared.stats;
        match event {
            FamilyEvent::Removed if !self.gone => {
                self.gone = true;
                stats::add(&st.family_removed, 1);
                st.joined.store(0, Ordering::Relaxed);
            }
            FamilyEvent::Added if self.gone && (opts.resubscribe || !self.joined_once) => {
                // Ids are new after a reload: join again on the same socket, so the fd the caller
                // polls stays valid.
                if let Ok(ids) = control::resolve_psample() {
                    if join(&shared.sock, &ids, opts).is_ok() {
                        if self.joined_once {
                            stats::add(&st.resubscribed, 1);
                        }
                        *self = Family { ids, gone: false, joined_once: true };
                        st.joined.store(1, Ordering::Relaxed);
                    }
                }
            }
            _ => {}
        }
    }
}

/// Lists psample's groups in the calling thread's namespace, or in `netns_fd`'s.
pub fn list_groups(netns_fd: Option<RawFd>, each: impl FnMut(control::GroupInfo)) -> Result<()> {
    options::validate_netns_fd(netns_fd)?;
    let run = || {
        let ids = control::resolve_psample()?;
        control::list_groups(ids.family, each)
    };
    match netns_fd {
        Some(fd) => netns::with_netns(fd, run),
        None => run(),
    }
}

/// Opens the socket and joins nlctrl's notify group, then psample's groups. The notify group is
/// joined first, so with `wait_family` a family registered after the lookup failed is announced.
/// `None` for the ids: psample is not registered and `wait_family` is set.
fn open_socket(opts: &Options) -> Result<(Option<PsampleIds>, SampleSocket)> {
    let notify = control::resolve_ctrl_notify()?;
    let sock = SampleSocket::open()?;
    sock.set_rcvbuf(opts.rcvbuf_or_default())?;
    sock.set_no_enobufs(!opts.enobufs)?;
    if opts.all_netns {
        sock.set_listen_all_nsid()?;
    }
    sock.join(notify)?;
    let ids = match control::resolve_psample() {
        Ok(ids) => Some(ids),
        Err(Errno(libc::ENOENT)) if opts.wait_family => None,
        Err(e) => return Err(e),
    };
    if let Some(ids) = &ids {
        join(&sock, ids, opts)?;
    }
    sock.set_nonblocking(opts.nonblocking)?;
    Ok((ids, sock))
}

/// Attaches the group filter for `ids.family` and joins psample's groups.
fn join(sock: &SampleSocket, ids: &PsampleIds, opts: &Options) -> Result<()> {
    if !opts.groups.is_empty() {
        sock.set_group_filter(ids.family, &opts.groups)?;
    }
    if opts.config_events {
        sock.join(ids.config_group)?;
    }
    if !opts.no_samples {
        sock.join(ids.packets_group)?;
    }
    Ok(())
}

#[derive(Debug, PartialEq, Eq)]
enum FamilyEvent {
    Added,
    Removed,
    Other,
}

/// Reads a controller notification: is it about psample (by name or by its current id)?
fn family_event(command: u8, msg: &[u8], psample_id: u16) -> FamilyEvent {
    let mut about_psample = false;
    for (ty, p) in decode::attrs::Attrs::new(&msg[uapi::ATTRS_OFFSET..]).flatten() {
        match ty {
            ctrl::ATTR_FAMILY_NAME => {
                about_psample |= p.split(|b| *b == 0).next() == Some(uapi::FAMILY_NAME.as_bytes())
            }
            ctrl::ATTR_FAMILY_ID if command == ctrl::CMD_DELFAMILY => about_psample |= p == psample_id.to_ne_bytes(),
            _ => {}
        }
    }
    match command {
        _ if !about_psample => FamilyEvent::Other,
        ctrl::CMD_NEWFAMILY => FamilyEvent::Added,
        ctrl::CMD_DELFAMILY => FamilyEvent::Removed,
        _ => FamilyEvent::Other,
    }
}
