//! Generates `psample.h` into OUT_DIR with cbindgen (a test compares it with the committed
//! `include/psample.h`) and gives the cdylib its SONAME.

use std::env;
use std::path::PathBuf;

fn main() {
    let crate_dir = PathBuf::from(env::var("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR"));
    let out = PathBuf::from(env::var("OUT_DIR").expect("cargo sets OUT_DIR"));
    let major = env::var("CARGO_PKG_VERSION_MAJOR").expect("cargo sets the version");
    let minor = env::var("CARGO_PKG_VERSION_MINOR").expect("cargo sets the version");
    let patch = env::var("CARGO_PKG_VERSION_PATCH").expect("cargo sets the version");

    // rustc sets no DT_SONAME on a cdylib (rust-lang/cargo#5045); this applies to the cdylib only.
    println!("cargo:rustc-cdylib-link-arg=-Wl,-soname,libpsample.so.{major}");

    let mut config = cbindgen::Config::from_file(crate_dir.join("cbindgen.toml")).expect("cbindgen.toml parses");
    config.after_includes = Some(format!(
        "\n#define PSAMPLE_VERSION_MAJOR {major}\n#define PSAMPLE_VERSION_MINOR {minor}\n#define PSAMPLE_VERSION_PATCH {patch}\n\n\
         #if defined(__GNUC__) || defined(__clang__)\n#define PSAMPLE_WARN_UNUSED __attribute__((warn_unused_result))\n\
         #else\n#define PSAMPLE_WARN_UNUSED\n#endif\n"
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
