//! Netlink plumbing: the control path (family resolution, group dump) and the sample socket.

pub mod control;
pub mod filter;
pub mod netns;
pub mod socket;
mod sockopt;

pub use control::{GroupInfo, PsampleIds};
pub use socket::SampleSocket;
