//! A subscription to psample: opens and joins the sample socket, then turns datagrams into decoded
//! records, applying the sender policy and keeping the statistics. Wake-ups live in `wake`, the
//! family's comings and goings in `family`.
//!
//! Threads: one thread receives ([`Subscription::recv`] takes `&mut self`) and owns the sample
//! socket; any thread may read the counters or wake the receiver through a [`Remote`], which
//! shares only what is built for that (atomic counters, the wake-up state and its own socket).

use std::os::fd::RawFd;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex, PoisonError};

use crate::decode::{self, split_header, DecodeError, RecordKind, Sample};
use crate::error::{Errno, Result};
use crate::family::{family_event, join, Family};
use crate::netlink::{control, netns, socket, PsampleIds, SampleSocket};
use crate::options::{self, Options};
use crate::recv::{Received, RecvBuffers};
use crate::stats::{self, GroupStats, SeqTracker, SharedStats, Stats};
use crate::uapi::{self, ctrl};
use crate::wake::{self, Wake};

/// What other threads may touch while one thread receives. Not the sample socket: the
/// subscription owns it and closes it when dropped, whatever `Remote`s are left.
struct Shared {
    stats: SharedStats,
    wake: Wake,
    /// The sample socket's descriptor while the subscription lives, for `Remote::stats` on other
    /// threads; `None` once it is dropped. The lock keeps the socket open during such a read.
    sample_fd: Mutex<Option<RawFd>>,
}

impl Shared {
    /// Folds the socket's drop count and buffer size into the counters, then reads them all.
    fn stats_from(&self, fd: RawFd) -> Stats {
        if let Ok(raw) = socket::kernel_drops(fd) {
            stats::accumulate_u32(&self.stats.kernel_drops, raw);
        }
        if let Ok(bytes) = socket::rcvbuf(fd) {
            self.stats.rcvbuf.store(bytes, Ordering::Relaxed);
        }
        self.stats.load()
    }
}

/// A handle other threads use on a [`Subscription`] while it receives: read its counters, wake
/// it. Cheap to clone. It does not keep the subscription's socket open: once the subscription is
/// dropped, [`stats`](Remote::stats) gives its final figures and [`wake`](Remote::wake) fails.
#[derive(Clone)]
pub struct Remote(Arc<Shared>);

impl Remote {
    /// As [`Subscription::stats`], from any thread; after the subscription was dropped, the
    /// figures it had then.
    pub fn stats(&self) -> Stats {
        let fd = self.0.sample_fd.lock().unwrap_or_else(PoisonError::into_inner);
        match *fd {
            Some(fd) => self.0.stats_from(fd),
            None => self.0.stats.load(),
        }
    }

    /// Wakes the receiver, as `pcap_breakloop` does: its next [`recv`](Subscription::recv), or
    /// the one blocked now, returns `ECANCELED` before reading more, whether or not samples are
    /// queued (they stay queued for later calls: none is lost). Once per call. A receive already
    /// inside `recvmmsg` returns the batch it got first. The subscription's descriptor turns
    /// readable, so an event loop (or `AsyncSubscription`) wakes too.
    ///
    /// Async-signal-safe: one atomic add and one `send(2)`, no lock, no allocation.
    ///
    /// Errors: `ENOTCONN` once the subscription was dropped (nothing happens); `EPERM` when the
    /// wake-up counts but could not be sent, because the subscription was opened without
    /// CAP_NET_ADMIN (possible with group events only): a blocked receive then answers it when
    /// the next record arrives, a later one at once.
    pub fn wake(&self) -> Result<()> {
        self.0.wake.wake()
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
    /// Dropped last (after `Drop::drop` detached the `Remote`s).
    sock: SampleSocket,
}

impl Subscription {
    /// Checks `opts` ([`Options::validate`]), then opens and joins the sample socket. With
    /// `wait_family`, succeeds when psample is not registered yet and joins when it appears.
    pub fn open(opts: Options) -> Result<Self> {
        opts.validate()?;
        let (ids, sock, wake) = match opts.netns_fd {
            Some(fd) => netns::with_netns(fd, || open_sockets(&opts))?,
            None => open_sockets(&opts)?,
        };
        let shared = Shared { stats: SharedStats::default(), wake, sample_fd: Mutex::new(Some(sock.fd())) };
        shared.stats.joined.store(u64::from(ids.is_some()), Ordering::Relaxed);
        Ok(Subscription {
            rx: RecvBuffers::new(opts.batch_or_default(), opts.all_netns),
            opts,
            family: Family::new(ids),
            shared: Arc::new(shared),
            seq: SeqTracker::default(),
            sock,
        })
    }

    /// The descriptor to poll for readability (also through `AsFd`/`AsRawFd`): readable when
    /// records are queued or a wake-up is pending.
    pub fn fd(&self) -> RawFd {
        self.sock.fd()
    }

    /// Counters, with the kernel's drop count and the buffer size read from the socket now.
    pub fn stats(&self) -> Stats {
        self.shared.stats_from(self.sock.fd())
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
    /// `EAGAIN`). `EINTR` on a signal. `ECANCELED` once per [`Remote::wake`], before reading:
    /// queued records stay for the next call. The records borrow this subscription's buffers.
    ///
    /// One `recvmmsg` per call, whether records are queued or it waits for them.
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
            if self.shared.wake.take() {
                return Err(Errno(libc::ECANCELED));
            }
            if self.family.gone && self.family.joined_once && !self.opts.resubscribe {
                return Err(Errno(libc::ENODEV));
            }
            let n = match self.rx.read(self.sock.fd(), max) {
                Ok(n) => n,
                Err(Errno(libc::ENOBUFS)) => {
                    stats::add(&self.shared.stats.enobufs, 1);
                    if self.opts.enobufs {
                        return Err(Errno(libc::ENOBUFS));
                    }
                    continue;
                }
                // A signal handler that called psample_wakeup() interrupted the wait: answer it.
                Err(Errno(libc::EINTR)) if self.shared.wake.take() => return Err(Errno(libc::ECANCELED)),
                Err(e) => return Err(e),
            };
            let (delivered, tokens) = self.deliver(n, sink);
            if delivered > 0 {
                if tokens > 0 && self.shared.wake.pending() {
                    // This read took the token of a wake-up the next call answers: send another,
                    // so a caller that polls first sees the descriptor readable.
                    let _ = self.shared.wake.ring();
                }
                return Ok(delivered);
            }
            // Only tokens (or nothing for the caller): the top of the loop answers a pending
            // wake-up, else this waits again.
        }
    }

    /// Decodes the `n` datagrams of the last read into `sink`, counts.
    /// Returns (records delivered, wake-up tokens seen).
    fn deliver(&mut self, n: usize, sink: &mut impl Sink) -> (usize, usize) {
        let Subscription { shared, opts, family, rx, seq, sock } = self;
        let st = &shared.stats;
        let (mut delivered, mut tokens) = (0, 0);
        for i in 0..n {
            let meta = rx.meta(i);
            if shared.wake.is_token(&meta) {
                tokens += 1;
                continue;
            }
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
                    family.on_event(event, sock, st, opts);
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
        (delivered, tokens)
    }
}

impl Drop for Subscription {
    /// Leaves the final figures in the shared counters, refuses wake-ups from now on, then lets
    /// the socket close (it is the last field): `Remote`s outlive it with counters only.
    fn drop(&mut self) {
        let mut fd = self.shared.sample_fd.lock().unwrap_or_else(PoisonError::into_inner);
        self.shared.stats_from(self.sock.fd());
        self.shared.wake.close();
        *fd = None;
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

/// Opens the sample socket and the waker connected to it, in the calling thread's namespace.
fn open_sockets(opts: &Options) -> Result<(Option<PsampleIds>, SampleSocket, Wake)> {
    let (ids, sock) = open_socket(opts)?;
    let wake = Wake::open(wake::portid(sock.fd())?)?;
    Ok((ids, sock, wake))
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
