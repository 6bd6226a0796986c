//! Following psample's generic netlink family: whether the handle is joined, and with which ids,
//! as the module goes away and comes back (the controller's notifications).

use std::sync::atomic::Ordering;

use crate::decode;
use crate::error::Result;
use crate::netlink::{control, PsampleIds, SampleSocket};
use crate::options::Options;
use crate::stats::{self, SharedStats};
use crate::uapi::{self, ctrl};

/// Whether and with which ids the handle is joined to psample.
pub struct Family {
    pub ids: PsampleIds,
    /// psample is not registered (it went away, or with `wait_family` was never there): the
    /// handle is joined to no psample group.
    pub gone: bool,
    /// The handle was joined at least once (so a removal is final without `resubscribe`).
    pub joined_once: bool,
}

impl Family {
    /// The state after opening: `ids` is `None` when psample was not registered (`wait_family`).
    pub fn new(ids: Option<PsampleIds>) -> Self {
        Family {
            gone: ids.is_none(),
            joined_once: ids.is_some(),
            ids: ids.unwrap_or(PsampleIds { family: 0, packets_group: 0, config_group: 0 }),
        }
    }

    /// Follows psample going away and coming back.
    pub fn on_event(&mut self, event: FamilyEvent, sock: &SampleSocket, st: &SharedStats, opts: &Options) {
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
                    if join(sock, &ids, opts).is_ok() {
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

/// Attaches the group filter for `ids.family` and joins psample's groups.
pub fn join(sock: &SampleSocket, ids: &PsampleIds, opts: &Options) -> Result<()> {
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
pub enum FamilyEvent {
    Added,
    Removed,
    Other,
}

/// Reads a controller notification: is it about psample (by name or by its current id)?
pub fn family_event(command: u8, msg: &[u8], psample_id: u16) -> FamilyEvent {
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
