//! Loss accounting: counters kept by the receive loop, and sequence-gap tracking per
//! (namespace, group) from `PSAMPLE_ATTR_GROUP_SEQ`.

/// Calls `$then!` with the field list of [`Stats`], the one place a counter is declared. `Stats`
/// is defined from it, and the C layer generates its `psample_stats` conversion from it (a struct
/// literal, so a counter missing from the C struct, or a C field missing here, does not compile).
macro_rules! stats_fields {
    ($then:ident) => {
        $then! {
            /// Samples handed to the caller.
            delivered: u64,
            /// Group created/deleted events handed to the caller.
            config_events: u64,
            /// Samples the kernel dropped on this socket because its receive buffer was full
            /// (`SO_MEMINFO`).
            kernel_drops: u64,
            /// Samples missing according to the group sequence numbers.
            seq_gaps: u64,
            /// Datagrams cut because they did not fit a receive slot (never expected).
            truncated: u64,
            /// Messages of the psample family that failed to decode.
            decode_errors: u64,
            /// `ENOBUFS` reports from the kernel (only with `enobufs` on).
            enobufs: u64,
            /// Samples from userspace senders that the sender policy rejected.
            rejected_userspace: u64,
            /// Times the psample family went away while subscribed.
            family_removed: u64,
            /// Times the subscription followed a reload of psample by itself.
            resubscribed: u64,
            /// Receive buffer size in force, bytes.
            rcvbuf: u32,
            /// (namespace, group) pairs whose sequence numbers are followed.
            groups_tracked: u32,
        }
    };
}

macro_rules! define_stats {
    ($($(#[$doc:meta])* $field:ident: $ty:ty,)*) => {
        /// Counters of one subscription. The kernel's own drop count and the buffer size are read
        /// from the socket when asked (see `Subscription::stats`).
        #[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
        #[non_exhaustive]
        pub struct Stats {
            $($(#[$doc])* pub $field: $ty,)*
        }
    };
}

stats_fields!(define_stats);
pub(crate) use stats_fields;

/// Follows the last sequence number per (nsid, group) in a fixed table (no allocation per sample).
pub struct SeqTracker {
    slots: Vec<Option<(u64, u32)>>,
    used: usize,
}

const TABLE_SIZE: usize = 1024; // power of two; gaps of at most 768 pairs are followed

impl Default for SeqTracker {
    fn default() -> Self {
        SeqTracker { slots: vec![None; TABLE_SIZE], used: 0 }
    }
}

impl SeqTracker {
    /// Records `seq` for `(nsid, group)` and returns how many samples are missing before it.
    ///
    /// A number lower than or equal to the last one (a producer that always sends 0, like the OVS
    /// psample action; a group created again; the kernel's unlocked counter repeating under load)
    /// restarts the count without calling it a loss. Wrap-around at 2^32 is a plain step.
    pub fn observe(&mut self, nsid: i32, group: u32, seq: u32) -> u64 {
        let key = (u64::from(nsid as u32) << 32) | u64::from(group);
        let mut i = (key.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 54) as usize & (TABLE_SIZE - 1);
        loop {
            match &mut self.slots[i] {
                Some((k, last)) if *k == key => {
                    let step = seq.wrapping_sub(*last);
                    *last = seq;
                    return if step == 0 || step >= 1 << 31 { 0 } else { u64::from(step - 1) };
                }
                Some(_) => i = (i + 1) & (TABLE_SIZE - 1),
                None => {
                    if self.used >= TABLE_SIZE * 3 / 4 {
                        return 0; // table full: this pair's gaps are not counted
                    }
                    self.slots[i] = Some((key, seq));
                    self.used += 1;
                    return 0;
                }
            }
        }
    }

    pub fn tracked(&self) -> u32 {
        self.used as u32
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_gaps_per_group_and_namespace() {
        let mut t = SeqTracker::default();
        assert_eq!(t.observe(-1, 7, 10), 0);
        assert_eq!(t.observe(-1, 7, 11), 0);
        assert_eq!(t.observe(-1, 7, 15), 3);
        assert_eq!(t.observe(-1, 8, 100), 0);
        assert_eq!(t.observe(3, 7, 1), 0);
        assert_eq!(t.observe(-1, 7, 16), 0);
        assert_eq!(t.tracked(), 3);
    }

    #[test]
    fn wraps_and_tolerates_constant_or_backward_numbers() {
        let mut t = SeqTracker::default();
        t.observe(-1, 1, u32::MAX - 1);
        assert_eq!(t.observe(-1, 1, u32::MAX), 0);
        assert_eq!(t.observe(-1, 1, 0), 0);
        assert_eq!(t.observe(-1, 1, 2), 1);
        let mut ovs = SeqTracker::default();
        for _ in 0..5 {
            assert_eq!(ovs.observe(-1, 9, 0), 0);
        }
        assert_eq!(t.observe(-1, 1, 1), 0); // backwards: restart, not a loss
        assert_eq!(t.observe(-1, 1, 2), 0);
    }

    #[test]
    fn a_full_table_stops_tracking_new_pairs() {
        let mut t = SeqTracker::default();
        for g in 0..2000 {
            t.observe(-1, g, 0);
        }
        assert_eq!(t.tracked() as usize, TABLE_SIZE * 3 / 4);
        assert_eq!(t.observe(-1, 1999, 5), 0, "an untracked pair counts no gap");
        assert_eq!(t.observe(-1, 0, 5), 4, "a tracked pair still does");
    }
}
