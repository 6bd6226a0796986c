//! With the `capi` feature: generates `psample.h` into OUT_DIR with cbindgen (tests/header.rs
//! compares it with the committed `include/psample.h`). (The crate declares no cdylib, so the
//! SONAME is given where one is built: the Makefile and tests/build-cdylib.sh.) Without
//! it (a Rust dependency) there is no C API, so no cbindgen is built and nothing is generated.

use std::env;
#[cfg(feature = "capi")]
use std::path::PathBuf;

fn main() {
    // The C structs hold size_t and pointers, and their published sizes (PSAMPLE_PACKET_SIZE_V1, ...)
    // are the LP64 ones: a 32-bit build would give C programs a different ABI under the same SONAME.
    let pointer_width = env::var("CARGO_CFG_TARGET_POINTER_WIDTH").expect("cargo sets the target pointer width");
    assert!(
        pointer_width == "64",
        "libpsample supports 64-bit targets only (its C structs hold size_t and pointers), not {pointer_width}-bit"
    );

    // Without this line cargo would rerun the script whenever any file of the package changes.
    println!("cargo:rerun-if-changed=build.rs");
    #[cfg(feature = "capi")]
    generate_c_api();
}

#[cfg(feature = "capi")]
fn generate_c_api() {
    let major = env::var("CARGO_PKG_VERSION_MAJOR").expect("cargo sets the version");
    let minor = env::var("CARGO_PKG_VERSION_MINOR").expect("cargo sets the version");
    let patch = env::var("CARGO_PKG_VERSION_PATCH").expect("cargo sets the version");
    let crate_dir = PathBuf::from(env::var("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR"));
    let out = PathBuf::from(env::var("OUT_DIR").expect("cargo sets OUT_DIR"));

    let mut config = cbindgen::Config::from_file(crate_dir.join("cbindgen.toml")).expect("cbindgen.toml parses");
    config.after_includes = Some(format!(
        "\n#define PSAMPLE_VERSION_MAJOR {major}\n#define PSAMPLE_VERSION_MINOR {minor}\n#define PSAMPLE_VERSION_PATCH {patch}\n\n\
         #if defined(__GNUC__) || defined(__clang__)\n#define PSAMPLE_WARN_UNUSED __attribute__((warn_unused_result))\n\
         #else\n#define PSAMPLE_WARN_UNUSED\n#endif\n\n\
         /* 64-bit targets only: the structs hold size_t and pointers, and the PSAMPLE_*_SIZE_V1 sizes are\n   \
         the LP64 ones. */\n\
         #if defined(__SIZEOF_POINTER__) && (__SIZEOF_POINTER__ != 8 || __SIZEOF_SIZE_T__ != 8)\n\
         #error \"libpsample supports 64-bit targets only (its structs hold size_t and pointers)\"\n#endif\n"
    ));
    cbindgen::Builder::new()
        .with_crate(&crate_dir)
        .with_config(config)
        .generate()
        .expect("cbindgen generates psample.h")
        .write_to_file(out.join("psample.h"));

    println!("cargo:rerun-if-changed=src");
    println!("cargo:rerun-if-changed=cbindgen.toml");
}
