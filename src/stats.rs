//! Loss accounting: counters kept by the receive loop, and sequence-gap tracking per
//! (namespace, group) from `PSAMPLE_ATTR_GROUP_SEQ`.

use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};

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
            /// (`SO_MEMINFO`). The kernel counts in 32 bits; the library accumulates the
            /// differences into 64, exact as long as the counters are read at least once per
            /// 2^31 drops (each stats call reads them, and so does closing the handle).
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
            /// 1 while the handle is joined to psample's sample group; 0 while it waits for the
            /// family to appear (`wait_family`) or after it went away.
            joined: u64,
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

/// The atomic type that stores a counter of type `Self`.
pub trait Counter {
    type Atomic: Default;
    fn load(a: &Self::Atomic) -> Self;
}

impl Counter for u64 {
    type Atomic = AtomicU64;
    fn load(a: &AtomicU64) -> u64 {
        a.load(Ordering::Relaxed)
    }
}

impl Counter for u32 {
    type Atomic = AtomicU32;
    fn load(a: &AtomicU32) -> u32 {
        a.load(Ordering::Relaxed)
    }
}

macro_rules! define_shared_stats {
    ($($(#[$doc:meta])* $field:ident: $ty:ty,)*) => {
        /// [`Stats`] as atomics, so other threads can read them while the receiving thread counts.
        /// Only the receiving thread writes (see [`add`]); every value is read whole (no torn
        /// 64-bit counter), each on its own (the set is not one snapshot).
        #[derive(Default)]
        pub struct SharedStats {
            $(pub $field: <$ty as Counter>::Atomic,)*
        }

        impl SharedStats {
            pub fn load(&self) -> Stats {
                Stats { $($field: <$ty as Counter>::load(&self.$field),)* }
            }
        }
    };
}

stats_fields!(define_shared_stats);

/// Adds `n` to a counter that only the calling thread writes: a plain load and store, no locked
/// read-modify-write on the receive path.
pub fn add(counter: &AtomicU64, n: u64) {
    counter.store(counter.load(Ordering::Relaxed).wrapping_add(n), Ordering::Relaxed);
}

/// Folds a reading `raw` of a 32-bit counter that wraps (SO_MEMINFO's drop count) into `total`,
/// a 64-bit count whose low 32 bits follow the last reading folded in, and returns the new total.
///
/// Lock-free (any thread may read the stats). A reading older than one already folded in (a
/// concurrent reader that lost the race) is ignored: a difference of 2^31 or more is taken as
/// going backwards, not as almost 2^32 new drops. So the total is exact as long as it is updated
/// at least once per 2^31 drops.
pub fn accumulate_u32(total: &AtomicU64, raw: u32) -> u64 {
    let mut prev = total.load(Ordering::Relaxed);
    loop {
        let delta = raw.wrapping_sub(prev as u32);
        if delta == 0 || delta >= 1 << 31 {
            return prev;
        }
        let new = prev.wrapping_add(u64::from(delta));
        match total.compare_exchange_weak(prev, new, Ordering::Relaxed, Ordering::Relaxed) {
            Ok(_) => return new,
            Err(now) => prev = now,
        }
    }
}

/// What one handle saw of one (namespace, group): as [`Subscription::group_stats`](crate::Subscription::group_stats) lists it.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct GroupStats {
    /// Namespace id the samples came from (-1: the subscriber's own namespace).
    pub nsid: i32,
    /// psample group number.
    pub group: u32,
    /// Samples of this pair handed to the caller.
    pub delivered: u64,
    /// Sum of the `seq_lost` of those samples.
    pub seq_lost: u64,
    /// `group_seq` of the last kernel sample that carried one.
    pub last_seq: u32,
    /// A kernel sample with a sequence number was seen (`last_seq` is meaningful).
    pub seq_seen: bool,
}

/// Per-(nsid, group) delivery and loss, in a fixed open-addressing table allocated when the
/// handle opens (no allocation per sample).
pub struct SeqTracker {
    slots: Vec<Option<GroupStats>>,
    used: usize,
}

const TABLE_SIZE: usize = 1024; // power of two
/// Pairs followed at most: the table stays at most 3/4 full so probes stay short.
pub const MAX_TRACKED_GROUPS: usize = TABLE_SIZE * 3 / 4;

impl Default for SeqTracker {
    fn default() -> Self {
        SeqTracker { slots: vec![None; TABLE_SIZE], used: 0 }
    }
}

impl SeqTracker {
    /// Records one delivered sample of `(nsid, group)` and returns how many samples of that pair
    /// are missing before it, by `seq` (`None`: no usable sequence number, e.g. a userspace
    /// sender or no `GROUP_SEQ`; the sample is counted, no loss is).
    ///
    /// The first numbered sample of a pair counts no loss. A number lower than or equal to the
    /// last one (a producer that always sends 0, like the OVS psample action; a group created
    /// again; the kernel's unlocked counter repeating under load) restarts the count without
    /// calling it a loss. Wrap-around at 2^32 is a plain step.
    pub fn observe(&mut self, nsid: i32, group: u32, seq: Option<u32>) -> u64 {
        let Some(entry) = self.entry(nsid, group) else {
            return 0; // table full: this pair is not followed
        };
        entry.delivered += 1;
        let Some(seq) = seq else {
            return 0;
        };
        let lost = if entry.seq_seen {
            let step = seq.wrapping_sub(entry.last_seq);
            if step == 0 || step >= 1 << 31 {
                0
            } else {
                u64::from(step - 1)
            }
        } else {
            0
        };
        entry.last_seq = seq;
        entry.seq_seen = true;
        entry.seq_lost += lost;
        lost
    }

    /// The row of `(nsid, group)`, created if there is room.
    fn entry(&mut self, nsid: i32, group: u32) -> Option<&mut GroupStats> {
        let key = (u64::from(nsid as u32) << 32) | u64::from(group);
        let mut i = (key.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 54) as usize & (TABLE_SIZE - 1);
        loop {
            match self.slots[i] {
                Some(g) if g.nsid == nsid && g.group == group => break,
                Some(_) => i = (i + 1) & (TABLE_SIZE - 1),
                None if self.used >= MAX_TRACKED_GROUPS => return None,
                None => {
                    self.slots[i] = Some(GroupStats { nsid, group, ..GroupStats::default() });
                    self.used += 1;
                    break;
                }
            }
        }
        self.slots[i].as_mut()
    }

    pub fn tracked(&self) -> u32 {
        self.used as u32
    }

    /// The rows, in table order (stable while no pair is added).
    pub fn groups(&self) -> impl Iterator<Item = &GroupStats> {
        self.slots.iter().flatten()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_gaps_per_group_and_namespace() {
        let mut t = SeqTracker::default();
        assert_eq!(t.observe(-1, 7, Some(10)), 0);
        assert_eq!(t.observe(-1, 7, Some(11)), 0);
        assert_eq!(t.observe(-1, 7, Some(15)), 3);
        assert_eq!(t.observe(-1, 8, Some(100)), 0);
        assert_eq!(t.observe(3, 7, Some(1)), 0);
        assert_eq!(t.observe(-1, 7, Some(16)), 0);
        assert_eq!(t.observe(-1, 8, Some(103)), 2);
        assert_eq!(t.observe(-1, 8, None), 0, "a sample without a number is counted, no loss");
        assert_eq!(t.tracked(), 3);
        let mut rows: Vec<GroupStats> = t.groups().copied().collect();
        rows.sort_by_key(|g| (g.nsid, g.group));
        let row = |nsid, group, delivered, seq_lost, last_seq| GroupStats {
            nsid,
            group,
            delivered,
            seq_lost,
            last_seq,
            seq_seen: true,
        };
        assert_eq!(rows, vec![row(-1, 7, 4, 3, 16), row(-1, 8, 3, 2, 103), row(3, 7, 1, 0, 1)]);
    }

    #[test]
    fn a_pair_first_seen_without_a_number_counts_no_loss_at_its_first_number() {
        let mut t = SeqTracker::default();
        assert_eq!(t.observe(-1, 5, None), 0);
        assert_eq!(t.observe(-1, 5, Some(40)), 0);
        assert_eq!(t.observe(-1, 5, Some(42)), 1);
    }

    #[test]
    fn wraps_and_tolerates_constant_or_backward_numbers() {
        let mut t = SeqTracker::default();
        t.observe(-1, 1, Some(u32::MAX - 1));
        assert_eq!(t.observe(-1, 1, Some(u32::MAX)), 0);
        assert_eq!(t.observe(-1, 1, Some(0)), 0);
        assert_eq!(t.observe(-1, 1, Some(2)), 1);
        let mut ovs = SeqTracker::default();
        for _ in 0..5 {
            assert_eq!(ovs.observe(-1, 9, Some(0)), 0);
        }
        assert_eq!(t.observe(-1, 1, Some(1)), 0); // backwards: restart, not a loss
        assert_eq!(t.observe(-1, 1, Some(2)), 0);
    }

    #[test]
    fn drop_counts_accumulate_across_the_u32_wrap() {
        let total = AtomicU64::new(0);
        assert_eq!(accumulate_u32(&total, 5), 5);
        assert_eq!(accumulate_u32(&total, 0x7fff_0000), 0x7fff_0000);
        assert_eq!(accumulate_u32(&total, 0xf000_0000), 0xf000_0000);
        assert_eq!(accumulate_u32(&total, u32::MAX), u64::from(u32::MAX));
        // The kernel's counter wraps to 3: four more drops, not a fall.
        assert_eq!(accumulate_u32(&total, 3), u64::from(u32::MAX) + 4);
        assert_eq!(total.load(Ordering::Relaxed), (1 << 32) + 3);
        // Twice more around, in steps just below 2^31.
        let mut raw = 3u32;
        for _ in 0..4 {
            raw = raw.wrapping_add((1 << 31) - 1);
            accumulate_u32(&total, raw);
        }
        assert_eq!(total.load(Ordering::Relaxed), (1 << 32) + 3 + 4 * ((1 << 31) - 1));
        assert_eq!(total.load(Ordering::Relaxed) as u32, raw, "the low 32 bits follow the reading");
    }

    #[test]
    fn a_stale_drop_reading_adds_nothing() {
        let total = AtomicU64::new(0);
        accumulate_u32(&total, 1000);
        // A reader that read 990 before another folded 1000 in: ignored, not 2^32 - 10 drops.
        assert_eq!(accumulate_u32(&total, 990), 1000);
        assert_eq!(accumulate_u32(&total, 1000), 1000, "the same reading twice adds nothing");
        assert_eq!(accumulate_u32(&total, 1001), 1001);
        // Stale across the wrap: the total is past 2^32, the reading from just before it.
        let total = AtomicU64::new((1 << 32) + 2);
        assert_eq!(accumulate_u32(&total, u32::MAX), (1 << 32) + 2);
        assert_eq!(accumulate_u32(&total, 7), (1 << 32) + 7);
    }

    #[test]
    fn a_full_table_stops_tracking_new_pairs() {
        let mut t = SeqTracker::default();
        for g in 0..2000 {
            t.observe(-1, g, Some(0));
        }
        assert_eq!(t.tracked() as usize, MAX_TRACKED_GROUPS);
        assert_eq!(t.groups().count(), MAX_TRACKED_GROUPS);
        assert_eq!(t.observe(-1, 1999, Some(5)), 0, "an untracked pair counts no gap");
        assert_eq!(t.observe(-1, 0, Some(5)), 4, "a tracked pair still does");
    }
}
