//! The `tokio` feature: a subscription that waits on tokio's reactor (`AsyncFd`) instead of in
//! `recvmmsg`, so a task, not a thread, waits for samples, and dropping the future cancels it.

use std::collections::VecDeque;
use std::future::poll_fn;
use std::io;
use std::pin::Pin;
use std::task::{ready, Context, Poll};

use tokio::io::unix::AsyncFd;
use tokio::io::Interest;

use crate::decode::Sample;
use crate::error::{Errno, Result};
use crate::options::Options;
use crate::owned::OwnedSample;
use crate::stats::Stats;
use crate::subscription::{Remote, Subscription};

/// A [`Subscription`] for tokio: [`recv`](AsyncSubscription::recv)`.await` gives owned samples,
/// [`recv_with`](AsyncSubscription::recv_with)`.await` lends them without allocating, and the
/// subscription is a [`Stream`](futures_core::Stream) of `Result<OwnedSample>`.
///
/// [`Remote::wake`] (from [`remote`](AsyncSubscription::remote), any thread or task) ends a
/// pending or the next receive with `Err(Errno(ECANCELED))`, once per wake-up, also when sent
/// before the `.await` starts; the subscription's descriptor turns readable, so the waiting task
/// is woken by the reactor. Samples already taken off the socket (by `recv` or the stream) are
/// handed out first; those still in the socket stay there for later receives. In the stream, a
/// wake-up is an `Err(ECANCELED)` item, and the stream goes on.
///
/// Every receive is cancel-safe: samples are taken from the socket synchronously, once it is
/// readable, so a receive future dropped at its `.await` (a `tokio::select!` branch that loses, a
/// `tokio::time::timeout` that expires) loses none, and the subscription stays usable.
///
/// ```no_run
/// # async fn run() -> Result<(), psample::Errno> {
/// let mut sub = psample::AsyncSubscription::open(psample::Options::default().groups([7]))?;
/// loop {
///     let pkt = sub.recv().await?;
///     let s = pkt.sample();
///     println!("group {} seq {} {} bytes", s.group, s.group_seq, s.data.len());
/// }
/// # }
/// ```
pub struct AsyncSubscription {
    fd: AsyncFd<Subscription>,
    /// Samples of the last read not handed out yet.
    queued: VecDeque<OwnedSample>,
    batch: usize,
    /// `ENODEV` (psample went away, no `resubscribe`): reported at once from then on, as nothing
    /// can arrive any more, and the stream ends.
    gone: Option<Errno>,
}

impl AsyncSubscription {
    /// Opens a subscription as [`Subscription::open`] does, nonblocking whatever `opts` says,
    /// and registers it with the current tokio runtime.
    ///
    /// # Panics
    /// Outside a tokio runtime with its I/O driver enabled (`enable_io`, or `enable_all`).
    pub fn open(opts: Options) -> Result<Self> {
        let opts = opts.nonblocking(true);
        let batch = opts.batch_or_default();
        let sub = Subscription::open(opts)?;
        // SAFETY: the subscription owns its socket, keeps it open and returns the same descriptor
        // from as_raw_fd() until it is dropped or taken back (into_inner); a module reload joins
        // again on that same socket, and nothing here replaces the subscription inside.
        let fd = unsafe { AsyncFd::register_with_interest(sub, Interest::READABLE) }
            .map_err(|e| Errno::from(e.into_parts().1))?;
        Ok(AsyncSubscription { fd, queued: VecDeque::with_capacity(batch), batch, gone: None })
    }

    /// Waits for the next sample (or group event, with `config_events`), as an owned copy.
    /// `ECANCELED`: a [`Remote::wake`].
    pub async fn recv(&mut self) -> Result<OwnedSample> {
        poll_fn(|cx| self.poll_recv(cx)).await
    }

    /// Waits until records are ready, then calls `each` for up to `max` of them and returns how
    /// many. The samples borrow the subscription's buffers: nothing is allocated per sample.
    /// Samples queued by [`recv`](AsyncSubscription::recv) or the stream are handed out first.
    pub async fn recv_with(&mut self, max: usize, mut each: impl FnMut(&Sample<'_>)) -> Result<usize> {
        if max == 0 {
            return Ok(0);
        }
        if !self.queued.is_empty() {
            let n = max.min(self.queued.len());
            for owned in self.queued.drain(..n) {
                each(&owned.sample());
            }
            return Ok(n);
        }
        poll_fn(|cx| poll_read(&mut self.fd, &mut self.gone, cx, max, &mut each)).await
    }

    /// A handle for other threads and tasks: counters, and [`Remote::wake`], which ends a
    /// receive with `ECANCELED`.
    pub fn remote(&self) -> Remote {
        self.fd.get_ref().remote()
    }

    /// Counters, as [`Subscription::stats`].
    pub fn stats(&self) -> Stats {
        self.fd.get_ref().stats()
    }

    /// The blocking-API subscription inside (nonblocking, registered with tokio).
    pub fn get_ref(&self) -> &Subscription {
        self.fd.get_ref()
    }

    /// Deregisters from tokio and returns the subscription (still nonblocking). Samples already
    /// queued here are dropped.
    pub fn into_inner(self) -> Subscription {
        self.fd.into_inner()
    }

    fn poll_recv(&mut self, cx: &mut Context<'_>) -> Poll<Result<OwnedSample>> {
        loop {
            if let Some(owned) = self.queued.pop_front() {
                return Poll::Ready(Ok(owned));
            }
            let queued = &mut self.queued;
            ready!(poll_read(&mut self.fd, &mut self.gone, cx, self.batch, |s| queued.push_back(OwnedSample::new(s))))?;
        }
    }
}

/// Reads once the descriptor is readable; on `EAGAIN` clears the readiness and waits again. A
/// pending wake-up is answered by the subscription's `recv` (`ECANCELED`) before it reads.
fn poll_read(
    fd: &mut AsyncFd<Subscription>,
    gone: &mut Option<Errno>,
    cx: &mut Context<'_>,
    max: usize,
    mut each: impl FnMut(&Sample<'_>),
) -> Poll<Result<usize>> {
    if let Some(e) = *gone {
        return Poll::Ready(Err(e));
    }
    loop {
        let mut guard = ready!(fd.poll_read_ready_mut(cx)).map_err(Errno::from)?;
        match guard.try_io(|inner| inner.get_mut().recv(max, &mut each).map_err(io::Error::from)) {
            Ok(Ok(n)) => return Poll::Ready(Ok(n)),
            Ok(Err(e)) => {
                let e = Errno::from(e);
                if e == Errno(libc::ENODEV) {
                    *gone = Some(e);
                }
                return Poll::Ready(Err(e));
            }
            Err(_would_block) => continue,
        }
    }
}

/// Owned samples, without end unless psample goes away (`ENODEV`, without `resubscribe`): that
/// error is the last item. Other errors (`ENOBUFS` with `enobufs`) are items, and it goes on.
impl futures_core::Stream for AsyncSubscription {
    type Item = Result<OwnedSample>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = self.get_mut();
        if this.queued.is_empty() && this.gone.is_some() {
            return Poll::Ready(None);
        }
        this.poll_recv(cx).map(Some)
    }
}
