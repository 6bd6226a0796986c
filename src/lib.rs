//! Receive Linux psample packet samples: the packets that tc's `sample` action, Open vSwitch's
//! `psample` action and switch drivers copy to userspace over generic netlink.
//!
//! A [`Subscription`] joins psample's multicast group (with the kernel-side group filter, the
//! receive buffer and the sender policy an [`Options`] asks for) and hands out decoded
//! [`Sample`]s that borrow its buffers: receiving allocates nothing per sample. [`Stats`] counts
//! what was delivered and what was lost, and
//! [`GroupStats`] the same per (namespace, group); a [`Remote`] lets other threads read the
//! counters or wake a blocked `recv` (`ECANCELED`). Errors are [`Errno`] values, which convert into
//! [`std::io::Error`].
//!
//! With the `tokio` feature, `AsyncSubscription` waits on tokio's reactor: `recv().await` gives
//! owned samples ([`OwnedSample`]), and it is a `Stream` of them.
//!
//! ```no_run
//! let mut sub = psample::Subscription::open(psample::Options::default().groups([7]))?;
//! loop {
//!     sub.recv(64, |s| println!("group {} seq {} {} bytes", s.group, s.group_seq, s.data.len()))?;
//! }
//! # Ok::<(), psample::Errno>(())
//! ```
//!
//! Features (none by default): `tokio` (above) and `capi`, which builds the C API of
//! `libpsample.so` (the `psample_*` symbols, in a hidden module that is not part of the Rust API)
//! and generates `psample.h` with cbindgen. Rust users need neither cbindgen nor `capi`.
#![warn(missing_docs)]
// Some crate items exist for the C API only. Without `capi` they look unused; the lint also runs
// with `capi` (every item of the plain build is in that one too), which still reports real ones.
#![cfg_attr(not(feature = "capi"), allow(unused_imports, dead_code))]

/// cbindgen:ignore
mod decode;
/// cbindgen:ignore
mod error;
/// cbindgen:ignore
mod family;
#[cfg(feature = "capi")]
#[doc(hidden)]
pub mod ffi;
/// cbindgen:ignore
mod netlink;
/// cbindgen:ignore
mod options;
/// cbindgen:ignore
mod options_set;
/// cbindgen:ignore
mod owned;
/// cbindgen:ignore
mod recv;
/// cbindgen:ignore
mod stats;
/// cbindgen:ignore
mod subscription;
/// cbindgen:ignore
mod subscription_fd;
/// cbindgen:ignore
mod uapi;
/// cbindgen:ignore
mod wake;

/// cbindgen:ignore
#[cfg(feature = "tokio")]
mod async_tokio;

pub use decode::{decode_message, ovs_cookie, DecodeError, RecordKind, Sample, Tunnel};
pub use error::{Errno, Result};
pub use netlink::GroupInfo;
pub use options::{Options, DEFAULT_BATCH, DEFAULT_RCVBUF, MAX_BATCH, MAX_GROUPS, MAX_RCVBUF};
pub use owned::OwnedSample;
pub use stats::{GroupStats, Stats};
pub use subscription::{list_groups, Remote, Subscription};
pub use uapi::{attr, tunnel_attr};

#[cfg(feature = "tokio")]
pub use async_tokio::AsyncSubscription;

// A subscription can be moved to another thread (or a tokio task); the compiler checks it here.
const _: () = {
    const fn assert_send<T: Send>() {}
    assert_send::<Subscription>();
    assert_send::<OwnedSample>();
    #[cfg(feature = "tokio")]
    assert_send::<AsyncSubscription>();
};

/// Not part of the API (no semver promise): internals that the crate's own tests, benchmarks,
/// fuzz targets and test tools reach.
#[doc(hidden)]
pub mod __private {
    pub use crate::decode::attrs::Attrs;
    pub use crate::decode::{decode_tunnel, effective_rate, repair_truncated};
    pub use crate::error::message as c_message;
    pub use crate::netlink::control::resolve_psample;
    pub use crate::uapi::{cmd, ctrl, ATTRS_OFFSET};
}
