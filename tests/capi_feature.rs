//! The C API's tests (abi, c_abi, header, install_bindings, layout) need the `capi` feature
//! (Cargo.toml's `required-features`), so a plain `cargo test` does not build them. This test
//! fails in that case, so such a run cannot pass while skipping them; `make test` runs
//! `cargo test --features capi`. It also checks that the feature decides whether the C API exists.

#[cfg(not(feature = "capi"))]
#[test]
fn c_api_tests_need_the_capi_feature() {
    panic!(
        "the C API tests (abi, c_abi, header, install_bindings, layout) were not built: run \
         `cargo test --features capi` (as `make test` does), or `cargo test --test NAME` for one \
         test without the C API"
    );
}

#[cfg(feature = "capi")]
#[test]
fn the_c_api_is_built_with_the_capi_feature() {
    // Functions of the C API, called through the Rust path the feature enables. The version must
    // be the one Cargo.toml says now (read from the file, not compiled in) and the one the
    // committed psample.h announces: a bump that misses the header (or a stale build) fails here.
    // SAFETY: psample_version takes no arguments and returns a pointer to a static string.
    let version = unsafe { std::ffi::CStr::from_ptr(psample::ffi::psample_version()) }.to_str().unwrap().to_owned();
    let root = env!("CARGO_MANIFEST_DIR");
    let manifest = std::fs::read_to_string(format!("{root}/Cargo.toml")).unwrap();
    let in_manifest = manifest.lines().find_map(|l| l.strip_prefix("version = ")).expect("Cargo.toml version");
    assert_eq!(version, in_manifest.trim_matches('"'), "psample_version() against Cargo.toml");

    let header = std::fs::read_to_string(format!("{root}/include/psample.h")).unwrap();
    let define = |name: &str| -> String {
        let prefix = format!("#define {name} ");
        let line = header.lines().find_map(|l| l.strip_prefix(prefix.as_str()));
        line.unwrap_or_else(|| panic!("psample.h defines {name}")).trim().to_owned()
    };
    let in_header =
        [define("PSAMPLE_VERSION_MAJOR"), define("PSAMPLE_VERSION_MINOR"), define("PSAMPLE_VERSION_PATCH")].join(".");
    assert_eq!(version, in_header, "psample_version() against psample.h's PSAMPLE_VERSION_* macros");

    // And a C entry point that checks its arguments: NULL `out` is -EINVAL.
    // SAFETY: NULL for both pointers is allowed (and refused with -EINVAL).
    let rc = unsafe { psample::ffi::psample_subscribe(std::ptr::null_mut(), std::ptr::null()) };
    assert_eq!(rc, -libc::EINVAL);
}
