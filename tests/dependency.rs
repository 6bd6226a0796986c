//! What a Rust crate that depends on psample builds: an rlib, without cbindgen (the C API and its
//! header generator are the `capi` feature, off by default). A scratch crate under target/ that
//! depends on this checkout by path is resolved with `cargo tree` (offline, from this checkout's
//! Cargo.lock, so nothing is downloaded or compiled), and `cargo metadata` gives the lib's crate types.
//!
//! Needs cargo.

use std::fs;
use std::process::Command;

mod support;
use support::{run_ok, target_dir, text, ROOT};

fn cargo() -> Command {
    Command::new(option_env!("CARGO").unwrap_or("cargo"))
}

/// `cargo tree` of a scratch crate that has `psample = { path = ROOT, features }` as its one
/// dependency, with normal and build dependencies, one line per package.
fn dependent_tree(name: &str, features: &str) -> String {
    let dir = target_dir().join("dependency-test").join(name);
    let _ = fs::remove_dir_all(&dir);
    fs::create_dir_all(dir.join("src")).unwrap();
    fs::write(
        dir.join("Cargo.toml"),
        format!(
            "[package]\nname = \"psample-dependent\"\nversion = \"0.0.0\"\nedition = \"2021\"\npublish = false\n\n\
             [dependencies]\npsample = {{ path = {ROOT:?}{features} }}\n\n[workspace]\n"
        ),
    )
    .unwrap();
    fs::write(dir.join("src/main.rs"), "fn main() {}\n").unwrap();
    fs::copy(format!("{ROOT}/Cargo.lock"), dir.join("Cargo.lock")).unwrap();
    let out = run_ok(cargo().current_dir(&dir).args([
        "tree",
        "--offline",
        "--edges",
        "normal,build",
        "--prefix",
        "none",
        "--format",
        "{p}",
    ]));
    text(&out.stdout)
}

fn has_package(tree: &str, name: &str) -> bool {
    tree.lines().any(|line| line.split_whitespace().next() == Some(name))
}

#[test]
fn a_dependent_does_not_build_cbindgen() {
    let tree = dependent_tree("default", "");
    assert!(has_package(&tree, "psample"), "psample is not in the tree:\n{tree}");
    assert!(!has_package(&tree, "cbindgen"), "a plain dependent builds cbindgen:\n{tree}");
    // The control: the feature that needs cbindgen does bring it in, so the check can fail.
    let tree = dependent_tree("capi", ", features = [\"capi\"]");
    assert!(has_package(&tree, "cbindgen"), "the capi feature does not build cbindgen:\n{tree}");
}

#[test]
fn the_library_is_an_rlib_only() {
    let out = run_ok(cargo().current_dir(ROOT).args(["metadata", "--offline", "--no-deps", "--format-version", "1"]));
    let json = text(&out.stdout);
    // With an explicit crate-type list the lib target's kind is that list.
    assert!(json.contains("\"kind\":[\"rlib\"],\"crate_types\":[\"rlib\"]"), "the lib is not an rlib only:\n{json}");
    for kind in ["cdylib", "staticlib", "dylib"] {
        assert!(!json.contains(&format!("\"{kind}\"")), "a dependent would build a {kind}:\n{json}");
    }
}
