//! The committed `include/psample.h` must be what build.rs generates from the sources.
//! `PSAMPLE_BLESS=1 cargo test --features capi --test header` rewrites it.

const GENERATED: &str = include_str!(concat!(env!("OUT_DIR"), "/psample.h"));

#[test]
fn committed_header_matches_the_generated_one() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/include/psample.h");
    if std::env::var_os("PSAMPLE_BLESS").is_some() {
        std::fs::write(path, GENERATED).expect("write include/psample.h");
    }
    let committed = std::fs::read_to_string(path).unwrap_or_default();
    assert!(
        committed == GENERATED,
        "include/psample.h is stale: the C API changed. Run `PSAMPLE_BLESS=1 cargo test --features capi --test header` and commit it."
    );
}
