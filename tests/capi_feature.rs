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
    // A function of the C API, called through the Rust path the feature enables.
    // SAFETY: psample_version takes no arguments and returns a pointer to a static string.
    let version = unsafe { std::ffi::CStr::from_ptr(psample::ffi::psample_version()) };
    assert_eq!(version.to_str().unwrap(), env!("CARGO_PKG_VERSION"));
}
