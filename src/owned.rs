//! A sample that owns its bytes, for code that keeps samples past the receive call (queues, tasks,
//! the async subscription). Costs one allocation per non-empty byte field; the borrowing
//! [`Subscription::recv`](crate::Subscription::recv) costs none.

use crate::decode::{Sample, Tunnel};

/// A [`Sample`] with its bytes copied out of the subscription's buffers.
///
/// [`sample`](OwnedSample::sample) borrows it back as a `Sample`, with every field and helper.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OwnedSample {
    /// Every field but the byte slices, which are empty here.
    fixed: Sample<'static>,
    data: Vec<u8>,
    user_cookie: Vec<u8>,
    geneve_opts: Vec<u8>,
    erspan_opts: Vec<u8>,
}

impl OwnedSample {
    /// Copies `sample`'s bytes.
    pub fn new(sample: &Sample<'_>) -> Self {
        // The struct update syntax copies every field, present and future, but the slices.
        let fixed = Sample {
            data: &[],
            user_cookie: &[],
            tunnel: Tunnel { geneve_opts: &[], erspan_opts: &[], ..sample.tunnel },
            ..*sample
        };
        OwnedSample {
            fixed,
            data: sample.data.to_vec(),
            user_cookie: sample.user_cookie.to_vec(),
            geneve_opts: sample.tunnel.geneve_opts.to_vec(),
            erspan_opts: sample.tunnel.erspan_opts.to_vec(),
        }
    }

    /// The sample, borrowing this one's bytes.
    pub fn sample(&self) -> Sample<'_> {
        Sample {
            data: &self.data,
            user_cookie: &self.user_cookie,
            tunnel: Tunnel { geneve_opts: &self.geneve_opts, erspan_opts: &self.erspan_opts, ..self.fixed.tunnel },
            ..self.fixed
        }
    }

    /// The sampled packet's bytes (truncated as the sampler was told).
    pub fn data(&self) -> &[u8] {
        &self.data
    }

    /// The packet's bytes, taken out.
    pub fn into_data(self) -> Vec<u8> {
        self.data
    }
}

impl From<&Sample<'_>> for OwnedSample {
    fn from(sample: &Sample<'_>) -> Self {
        OwnedSample::new(sample)
    }
}

impl From<Sample<'_>> for OwnedSample {
    fn from(sample: Sample<'_>) -> Self {
        OwnedSample::new(&sample)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::decode::RecordKind;

    #[test]
    fn round_trips_every_field_and_outlives_the_buffer() {
        let buffer = vec![1u8, 2, 3, 9, 9, 9, 9, 9, 9, 9, 9, 4, 4, 4, 4, 4, 4, 4, 4];
        let s = Sample {
            kind: RecordKind::Sample,
            group: 7,
            group_seq: 42,
            rate: 10,
            nsid: 3,
            data: &buffer[..3],
            user_cookie: &buffer[3..11],
            tunnel: Tunnel { id: 5, geneve_opts: &buffer[11..], ..Tunnel::default() },
            ..Sample::default()
        };
        let owned = OwnedSample::from(&s);
        assert_eq!(owned.sample(), s);
        drop(buffer);
        assert_eq!(owned.data(), &[1, 2, 3]);
        assert_eq!(owned.sample().tunnel.geneve_opts, &[4; 8]);
        assert_eq!((owned.sample().group, owned.sample().tunnel.id), (7, 5));
        assert_eq!(owned.into_data(), vec![1, 2, 3]);
    }
}
