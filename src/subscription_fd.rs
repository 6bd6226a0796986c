//! The descriptor of a subscription, for event loops (epoll, mio, tokio's `AsyncFd`).

use std::os::fd::{AsFd, AsRawFd, BorrowedFd, RawFd};

use crate::subscription::Subscription;

impl AsRawFd for Subscription {
    fn as_raw_fd(&self) -> RawFd {
        self.fd()
    }
}

/// Readable when records are queued or a [`Remote::wake`](crate::Remote::wake) is pending (its
/// token is queued on the socket). Reading it other than through the subscription would lose
/// samples.
impl AsFd for Subscription {
    fn as_fd(&self) -> BorrowedFd<'_> {
        // SAFETY: the subscription owns this descriptor and keeps it open (the same one, even
        // across a module reload) until it is dropped, which the borrow of `self` outlives.
        unsafe { BorrowedFd::borrow_raw(self.fd()) }
    }
}
