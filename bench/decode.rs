//! Decoding a kernel sample, against the floor of merely walking its attributes.
//! `cargo bench --bench decode -- --warm-up-time 1 --measurement-time 3`

#[path = "../tests/support/mod.rs"]
mod support;

use criterion::{criterion_group, criterion_main, Criterion};
use psample::__private::Attrs;
use std::hint::black_box;

/// The baseline: every attribute header read and bounds-checked, nothing interpreted.
fn walk(msg: &[u8]) -> usize {
    Attrs::new(&msg[psample::__private::ATTRS_OFFSET..]).map(|r| r.map_or(0, |(_, p)| p.len())).sum()
}

fn bench(c: &mut Criterion) {
    for len in [128, 1500] {
        let msg = support::messages::kernel_sample(len).to_bytes();
        assert_eq!(psample::decode_message(&msg).unwrap().data.len(), len);
        let mut g = c.benchmark_group(format!("data_{len}B"));
        g.bench_function("decode_message", |b| b.iter(|| psample::decode_message(black_box(&msg))));
        g.bench_function("attr_walk", |b| b.iter(|| walk(black_box(&msg))));
        g.finish();
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);
