//! A subscription to psample: opens and joins the sample socket, then turns datagrams into decoded
//! records, applying the sender policy, following module reloads and keeping the statistics.

use std::os::fd::RawFd;

use crate::decode::{self, split_header, RecordKind, Sample};
use crate::error::{Errno, Result};
use crate::netlink::{control, netns, PsampleIds, SampleSocket};
use crate::options::{self, Options};
use crate::recv::RecvBuffers;
use crate::stats::{SeqTracker, Stats};
use crate::uapi::{self, ctrl};

/// A subscription to psample's samples: a generic netlink socket joined to its group, with
/// receive buffers allocated once. `Send`: move it to the thread (or task) that receives.
/// For an event loop it is [`AsFd`](std::os::fd::AsFd); with the `tokio` feature,
/// `AsyncSubscription` wraps it.
pub struct Subscription {
    opts: Options,
    ids: PsampleIds,
    sock: SampleSocket,
    rx: RecvBuffers,
    stats: Stats,
    seq: SeqTracker,
    /// The psample family was removed and not (yet) registered again.
    family_gone: bool,
    /// Kernel drops counted by sockets of this subscription that are already closed.
    drops_before: u64,
}

impl Subscription {
    /// Checks `opts` ([`Options::validate`]), then opens and joins the sample socket.
    pub fn open(opts: Options) -> Result<Self> {
        opts.validate()?;
        let (ids, sock) = match opts.netns_fd {
            Some(fd) => netns::with_netns(fd, || open_socket(&opts))?,
            None => open_socket(&opts)?,
        };
        Ok(Subscription {
            rx: RecvBuffers::new(opts.batch_or_default()),
            opts,
            ids,
            sock,
            stats: Stats::default(),
            seq: SeqTracker::default(),
            family_gone: false,
            drops_before: 0,
        })
    }

    /// The descriptor to poll for readability (also through `AsFd`/`AsRawFd`).
    pub fn fd(&self) -> RawFd {
        self.sock.fd()
    }

    /// Counters, with the kernel's drop count and the buffer size read from the socket now.
    pub fn stats(&self) -> Stats {
        let mut st = self.stats;
        st.kernel_drops = self.drops_before + u64::from(self.sock.kernel_drops().unwrap_or(0));
        st.rcvbuf = self.sock.rcvbuf().unwrap_or(0);
        st.groups_tracked = self.seq.tracked();
        st
    }

    /// Receives up to `max` records, calling `each` for every one, and returns how many.
    ///
    /// Blocks until at least one record is ready unless the subscription is nonblocking (then
    /// `EAGAIN`). `EINTR` on a signal. The records borrow this subscription's buffers.
    pub fn recv(&mut self, max: usize, mut each: impl FnMut(&Sample<'_>)) -> Result<usize> {
        if max == 0 {
            return Ok(0);
        }
        loop {
            if self.family_gone && !self.opts.resubscribe {
                return Err(Errno(libc::ENODEV));
            }
            let n = match self.rx.read(self.sock.fd(), max, self.opts.nonblocking) {
                Ok(n) => n,
                Err(Errno(libc::ENOBUFS)) => {
                    self.stats.enobufs += 1;
                    if self.opts.enobufs {
                        return Err(Errno(libc::ENOBUFS));
                    }
                    continue;
                }
                Err(e) => return Err(e),
            };
            let mut delivered = 0;
            for i in 0..n {
                if self.rx.message(i).1.truncated {
                    self.stats.truncated += 1;
                    decode::repair_truncated(self.rx.message_mut(i));
                }
                let (bytes, meta) = self.rx.message(i);
                let Ok((ty, command, msg)) = split_header(bytes) else {
                    self.stats.decode_errors += 1;
                    continue;
                };
                if ty == ctrl::FAMILY_ID {
                    if meta.sender_portid == 0 {
                        let event = family_event(command, msg, self.ids.family);
                        self.on_family_event(event);
                    }
                    continue;
                }
                if ty != self.ids.family || self.family_gone {
                    continue;
                }
                if meta.sender_portid != 0 && !self.opts.accept_userspace {
                    self.stats.rejected_userspace += 1;
                    continue;
                }
                let mut sample = match decode::decode_split(ty, command, msg) {
                    Ok(s) => s,
                    Err(decode::DecodeError::NotPsample) => continue,
                    Err(_) => {
                        self.stats.decode_errors += 1;
                        continue;
                    }
                };
                sample.nsid = meta.nsid;
                sample.sender_portid = meta.sender_portid;
                sample.truncated = meta.truncated;
                if sample.kind == RecordKind::Sample {
                    if self.opts.no_samples {
                        continue;
                    }
                    self.stats.delivered += 1;
                    if meta.sender_portid == 0 && sample.has(uapi::attr::GROUP_SEQ) {
                        self.stats.seq_gaps += self.seq.observe(sample.nsid, sample.group, sample.group_seq);
                    }
                } else {
                    if !self.opts.config_events {
                        continue;
                    }
                    self.stats.config_events += 1;
                }
                each(&sample);
                delivered += 1;
            }
            if delivered > 0 {
                return Ok(delivered);
            }
        }
    }

    fn on_family_event(&mut self, event: FamilyEvent) {
        match event {
            FamilyEvent::Removed => {
                self.family_gone = true;
                self.stats.family_removed += 1;
            }
            FamilyEvent::Added if self.family_gone && self.opts.resubscribe => {
                // Ids are new after a reload: join again on the same socket, so the fd the caller
                // polls stays valid.
                if let Ok(ids) = control::resolve_psample() {
                    if join(&self.sock, &ids, &self.opts).is_ok() {
                        self.ids = ids;
                        self.family_gone = false;
                        self.stats.resubscribed += 1;
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

fn open_socket(opts: &Options) -> Result<(PsampleIds, SampleSocket)> {
    let ids = control::resolve_psample()?;
    let notify = control::resolve_ctrl_notify()?;
    let sock = SampleSocket::open()?;
    sock.set_rcvbuf(opts.rcvbuf_or_default())?;
    sock.set_no_enobufs(!opts.enobufs)?;
    if opts.all_netns {
        sock.set_listen_all_nsid()?;
    }
    sock.join(notify)?;
    join(&sock, &ids, opts)?;
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
