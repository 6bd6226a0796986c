//! Receive Linux psample packet samples.
//!
//! The crate is a safe Rust core and a thin C layer (`ffi`) that builds `libpsample.so`:
//! - [`decode`]: zero-allocation decoding of psample messages;
//! - [`netlink`]: family resolution (neli), the group dump and the sample socket;
//! - `recv`: batched reads into buffers the handle owns;
//! - [`stats`]: loss accounting;
//! - [`options`]: what a subscription asks for, and every rule about it;
//! - [`subscription`]: ties them together; Rust users call [`Subscription`] directly, and hand a
//!   [`Remote`] to other threads to read the counters or wake a blocked `recv` (`ECANCELED`).
//!
//! ```no_run
//! let mut sub = psample::Subscription::open(psample::Options::default())?;
//! sub.recv(64, |s| println!("group {} seq {} {} bytes", s.group, s.group_seq, s.data.len()))?;
//! # Ok::<(), psample::Errno>(())
//! ```

/// cbindgen:ignore
pub mod decode;
/// cbindgen:ignore
pub mod error;
pub mod ffi;
/// cbindgen:ignore
pub mod netlink;
/// cbindgen:ignore
pub mod options;
/// cbindgen:ignore
mod recv;
/// cbindgen:ignore
pub mod stats;
/// cbindgen:ignore
pub mod subscription;
/// cbindgen:ignore
pub mod uapi;

pub use decode::{decode_message, DecodeError, RecordKind, Sample, Tunnel};
pub use error::{Errno, Result};
pub use netlink::GroupInfo;
pub use options::Options;
pub use stats::{GroupStats, Stats};
pub use subscription::{list_groups, Remote, Subscription};
