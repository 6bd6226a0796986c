//! One version: Cargo.toml's. The Makefile (the .so name, psample.pc), make dist (the tarball's
//! name) and psample_version() take it from Cargo; the files that must spell it out themselves are
//! checked here: debian/changelog (the packages' upstream version) and bindings/python's
//! pyproject.toml (the wheel's). make package-test checks the built artifacts' names as well.

use std::fs;

const ROOT: &str = env!("CARGO_MANIFEST_DIR");
const VERSION: &str = env!("CARGO_PKG_VERSION");

fn read(path: &str) -> String {
    fs::read_to_string(format!("{ROOT}/{path}")).unwrap_or_else(|e| panic!("cannot read {path}: {e}"))
}

#[test]
fn debian_changelog_has_the_crate_version() {
    let changelog = read("debian/changelog");
    let first = changelog.lines().next().expect("debian/changelog is empty");
    // psample (UPSTREAM-REVISION) DISTRIBUTION; urgency=...
    let version = first
        .strip_prefix("psample (")
        .and_then(|rest| rest.split(')').next())
        .unwrap_or_else(|| panic!("debian/changelog's first line is not 'psample (VERSION) ...': {first}"));
    let upstream = version.rsplit_once('-').map_or(version, |(upstream, _revision)| upstream);
    assert_eq!(upstream, VERSION, "debian/changelog's {version} is not Cargo.toml's {VERSION}: add a changelog entry");
}

#[test]
fn python_package_has_the_crate_version() {
    let pyproject = read("bindings/python/pyproject.toml");
    let line = pyproject
        .lines()
        .find(|l| l.starts_with("version = "))
        .expect("bindings/python/pyproject.toml has no version line");
    assert_eq!(
        line,
        format!("version = \"{VERSION}\""),
        "bindings/python/pyproject.toml's version is not Cargo.toml's"
    );
}

#[test]
fn pkg_config_file_takes_the_version_from_the_makefile() {
    let pc = read("pkgconfig/psample.pc.in");
    assert!(
        pc.contains("Version: @VERSION@"),
        "pkgconfig/psample.pc.in must say Version: @VERSION@ (the Makefile fills it in)"
    );
    let makefile = read("Makefile");
    assert!(
        makefile.contains(r#"VERSION := $(shell sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -1)"#),
        "the Makefile must take VERSION from Cargo.toml"
    );
    assert!(
        makefile.contains("LIB_SO         := $(LIB_DIR)/libpsample.so.$(VERSION)"),
        "the .so is named after VERSION"
    );
}
