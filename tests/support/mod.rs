//! What the integration tests and the decode benchmark share. Each user takes a different part.
//! - [`messages`]: psample messages built byte for byte as the kernel builds them (tests/decode.rs,
//!   tests/decode_props.rs, bench/decode.rs).
//! - The functions here: running programs and `make` (tests/c_abi.rs, tests/install_bindings.rs).
#![allow(dead_code)]

pub mod messages;

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;

pub const ROOT: &str = env!("CARGO_MANIFEST_DIR");
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

/// The cargo target dir: test binaries run as <target>/<profile>/deps/<name>-<hash>.
pub fn target_dir() -> PathBuf {
    let exe = std::env::current_exe().expect("current_exe");
    exe.ancestors().nth(3).expect("test binary lives in <target>/<profile>/deps").to_path_buf()
}

pub fn run(cmd: &mut Command) -> Output {
    cmd.output().unwrap_or_else(|e| panic!("cannot run {cmd:?}: {e}"))
}

pub fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// Runs `cmd` and panics with its output unless it exits 0.
pub fn run_ok(cmd: &mut Command) -> Output {
    let out = run(cmd);
    assert!(out.status.success(), "{cmd:?} failed: {}\n{}{}", out.status, text(&out.stdout), text(&out.stderr));
    out
}

/// Every regular file or symlink under `dir`.
pub fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut found = Vec::new();
    for entry in fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if fs::symlink_metadata(&path).unwrap().is_dir() {
            found.extend(files_under(&path));
        } else {
            found.push(path);
        }
    }
    found
}

/// `make GOAL DESTDIR=destdir PREFIX=/usr`, with the Makefile's outputs in `builddir`.
///
/// Hermetic: no install variables or MAKEFLAGS from an enclosing `make test`. Cargo builds in
/// target/install-test, not this test's target dir, whose lock `cargo test` may hold; every
/// install test shares it, so its release build is reused.
pub fn make(goal: &str, destdir: &Path, builddir: &Path) -> Output {
    let mut cmd = Command::new("make");
    for var in ["MAKEFLAGS", "MFLAGS", "MAKELEVEL", "PREFIX", "LIBDIR", "INCLUDEDIR", "BINDIR", "PKGCONFIGDIR", "PCAP"]
    {
        cmd.env_remove(var);
    }
    run_ok(
        cmd.arg("-C")
            .arg(ROOT)
            .arg(goal)
            .arg(format!("DESTDIR={}", destdir.display()))
            .arg("PREFIX=/usr")
            .arg(format!("BUILDDIR={}", builddir.display()))
            .env("CARGO_TARGET_DIR", target_dir().join("install-test")),
    )
}

/// The debug cdylib with the C API (tests/build-cdylib.sh: the crate itself is an rlib only),
/// built once per test binary in target/install-test for the same reason as [`make`]:
/// target/install-test/debug/libpsample.so.
pub fn cdylib() -> &'static Path {
    static BUILT: OnceLock<PathBuf> = OnceLock::new();
    BUILT.get_or_init(|| {
        let target = target_dir().join("install-test");
        run_ok(
            Command::new(Path::new(ROOT).join("tests/build-cdylib.sh"))
                .env("CARGO", option_env!("CARGO").unwrap_or("cargo"))
                .env("CARGO_TARGET_DIR", &target),
        );
        let lib = target.join("debug/libpsample.so");
        assert!(lib.is_file(), "cargo rustc left no {}", lib.display());
        lib
    })
}
