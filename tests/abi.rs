//! ELF symbol versions: abi/libpsample.map lists exactly the `#[no_mangle]` functions of src/ffi/,
//! and the library `make` builds (and installs) exports each of them, and nothing else, with the
//! version node the map gives it (`readelf --dyn-syms`).
//!
//! Needs make, cc and readelf.

use std::collections::BTreeMap;
use std::ffi::OsStr;
use std::fs;
use std::path::Path;
use std::process::Command;

mod support;
use support::{make, run_ok, target_dir, text, ROOT, VERSION};

/// The version nodes of a version script in order, each with its global symbols. Panics unless
/// every node after the first inherits the one before it (`} PSAMPLE_0.1;`) and only the first has
/// the `local: *;` catch-all.
fn version_nodes(script: &str) -> Vec<(String, Vec<String>)> {
    // Drop /* comments */ first.
    let mut code = String::new();
    let mut rest = script;
    while let Some(start) = rest.find("/*") {
        code.push_str(&rest[..start]);
        let end = rest[start..].find("*/").expect("unterminated comment") + start + 2;
        rest = &rest[end..];
    }
    code.push_str(rest);

    let mut nodes: Vec<(String, Vec<String>)> = Vec::new();
    let mut rest = code.as_str();
    while let Some(open) = rest.find('{') {
        let name = rest[..open].trim().to_string();
        let close = rest[open..].find('}').expect("unterminated node") + open;
        let body = &rest[open + 1..close];
        let end = rest[close..].find(';').expect("node not ended by ';'") + close;
        let parent = rest[close + 1..end].trim();
        match nodes.last() {
            None => assert!(parent.is_empty(), "the first node {name} inherits nothing"),
            Some((previous, _)) => assert_eq!(parent, previous, "node {name} must inherit the node before it"),
        }
        let mut symbols = Vec::new();
        let mut section = "";
        for item in body.split(';').map(str::trim).filter(|i| !i.is_empty()) {
            let item = match item.split_once(':') {
                Some((label, after)) => {
                    section = label.trim();
                    after.trim()
                }
                None => item,
            };
            if item.is_empty() {
                continue;
            }
            match section {
                "global" => symbols.push(item.to_string()),
                "local" => assert!(item == "*" && nodes.is_empty(), "only the first node has `local: *;`"),
                other => panic!("unknown section {other:?} in node {name}"),
            }
        }
        nodes.push((name, symbols));
        rest = &rest[end + 1..];
    }
    assert!(rest.trim().is_empty(), "trailing text in the version script: {rest:?}");
    nodes
}

/// `symbol -> version node` from the committed version script, checking no symbol is listed twice.
fn versioned_symbols() -> BTreeMap<String, String> {
    let script = fs::read_to_string(format!("{ROOT}/abi/libpsample.map")).unwrap();
    let nodes = version_nodes(&script);
    assert!(!nodes.is_empty() && nodes[0].0 == "PSAMPLE_0.1", "the first node is PSAMPLE_0.1: {nodes:?}");
    let mut map = BTreeMap::new();
    for (node, symbols) in nodes {
        assert!(node.starts_with("PSAMPLE_"), "node {node}");
        for symbol in symbols {
            assert!(!symbol.contains(['*', '?', '[']), "{symbol}: list functions by name, not by pattern");
            if let Some(first) = map.insert(symbol.clone(), node.clone()) {
                panic!("{symbol} is in both {first} and {node}");
            }
        }
    }
    map
}

/// Names of the `#[no_mangle]` functions in the .rs files under `dir`.
fn no_mangle_functions(dir: &Path) -> Vec<String> {
    let mut names = Vec::new();
    for entry in fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            names.extend(no_mangle_functions(&path));
            continue;
        }
        if path.extension() != Some(OsStr::new("rs")) {
            continue;
        }
        let source = fs::read_to_string(&path).unwrap();
        let mut pending = false;
        for line in source.lines().map(str::trim) {
            if line == "#[no_mangle]" || line == "#[unsafe(no_mangle)]" {
                pending = true;
            } else if pending {
                if let Some(after) = line.split_once("fn ").map(|(_, after)| after) {
                    let name: String = after.chars().take_while(|c| c.is_alphanumeric() || *c == '_').collect();
                    names.push(name);
                    pending = false;
                } else {
                    assert!(line.starts_with("#["), "{}: #[no_mangle] on something else: {line}", path.display());
                }
            }
        }
    }
    names.sort();
    names
}

/// `MAJOR.MINOR` of the version node `PSAMPLE_MAJOR.MINOR`.
fn node_version(node: &str) -> Option<(u32, u32)> {
    let (major, minor) = node.strip_prefix("PSAMPLE_")?.split_once('.')?;
    Some((major.parse().ok()?, minor.parse().ok()?))
}

/// The `version = "..."` of Cargo.toml's `[package]` section, and its `MAJOR.MINOR`.
fn cargo_toml_version() -> (String, (u32, u32)) {
    let manifest = fs::read_to_string(format!("{ROOT}/Cargo.toml")).unwrap();
    let line = manifest.lines().find(|l| l.starts_with("version = ")).expect("Cargo.toml has a version line");
    let version = line.trim_start_matches("version = ").trim_matches('"').to_string();
    let mut parts = version.split('.').map(|p| p.parse::<u32>().unwrap_or_else(|_| panic!("version {version}")));
    let major_minor = (parts.next().unwrap(), parts.next().unwrap());
    (version, major_minor)
}

/// The newest version node names the release: a release that adds functions bumps the minor
/// version and adds the node `PSAMPLE_MAJOR.MINOR` together (libbpf's Makefile checks the same),
/// so `#if PSAMPLE_VERSION_MINOR >= N` and `pkg-config --atleast-version` find the functions of
/// node N. A version bumped without its node, or a node added without the bump, fails here.
#[test]
fn newest_version_node_is_the_crate_version() {
    let script = fs::read_to_string(format!("{ROOT}/abi/libpsample.map")).unwrap();
    let nodes = version_nodes(&script);
    let newest = &nodes.last().expect("the version script has nodes").0;
    let node = node_version(newest).unwrap_or_else(|| panic!("node {newest} is not PSAMPLE_MAJOR.MINOR"));
    let (version, manifest) = cargo_toml_version();
    assert_eq!(VERSION, version, "this test was built from another Cargo.toml version: rebuild it");
    assert_eq!(
        node, manifest,
        "abi/libpsample.map's newest version node is {newest} but Cargo.toml's version is {version}, whose node \
         would be PSAMPLE_{}.{}: a release sets its version in Cargo.toml and adds its node to the map together \
         (abi/README.md)",
        manifest.0, manifest.1,
    );
}

#[test]
fn node_versions_parse() {
    assert_eq!(node_version("PSAMPLE_0.3"), Some((0, 3)));
    assert_eq!(node_version("PSAMPLE_1.12"), Some((1, 12)));
    assert_eq!(node_version("PSAMPLE_0"), None);
    assert_eq!(node_version("LIBBPF_0.3"), None);
}

#[test]
fn version_script_parser() {
    let nodes = version_nodes(
        "/* a */ P_1 {\n global:\n  f; g;\n local:\n  *;\n};\n/* b { } */\nP_2 { global: h; } P_1;\nP_3 {\n\tglobal:\n\t\ti;\n} P_2;\n",
    );
    let names: Vec<(&str, Vec<&str>)> =
        nodes.iter().map(|(n, s)| (n.as_str(), s.iter().map(String::as_str).collect())).collect();
    assert_eq!(names, [("P_1", vec!["f", "g"]), ("P_2", vec!["h"]), ("P_3", vec!["i"])]);
}

#[test]
fn version_script_lists_exactly_the_c_functions() {
    let in_source = no_mangle_functions(&Path::new(ROOT).join("src"));
    assert!(in_source.len() >= 10, "found only {in_source:?}");
    let in_script: Vec<String> = versioned_symbols().into_keys().collect();
    assert_eq!(
        in_script, in_source,
        "abi/libpsample.map must list every #[no_mangle] function of src/ (new ones in a new node for the next \
         release: see abi/README.md)"
    );
}

#[test]
fn every_export_carries_its_version() {
    let dir = target_dir().join("abi-test");
    let _ = fs::remove_dir_all(&dir);
    make("lib", &dir.join("root"), &dir.join("build"));
    let so = dir.join(format!("build/lib/libpsample.so.{VERSION}"));

    let dynamic = text(&run_ok(Command::new("readelf").arg("-d").arg(&so)).stdout);
    assert!(dynamic.contains("Library soname: [libpsample.so.0]"), "{dynamic}");

    // Defined dynamic symbols: "Num: Value Size Type Bind Vis Ndx Name".
    let syms = text(&run_ok(Command::new("readelf").args(["--dyn-syms", "--wide"]).arg(&so)).stdout);
    let mut exported = BTreeMap::new();
    let mut nodes = Vec::new();
    for line in syms.lines() {
        let cols: Vec<&str> = line.split_whitespace().collect();
        let is_entry = cols.first().and_then(|c| c.strip_suffix(':')).is_some_and(|n| n.parse::<u32>().is_ok());
        if !is_entry || cols.len() < 8 || cols[6] == "UND" || cols[4] == "LOCAL" {
            continue;
        }
        let name = cols[7];
        match (cols[3], name.split_once("@@")) {
            // The version nodes themselves are absolute symbols.
            ("OBJECT", None) if cols[6] == "ABS" => nodes.push(name.to_string()),
            ("FUNC", Some((func, node))) => {
                exported.insert(func.to_string(), node.to_string());
            }
            _ => panic!("unexpected dynamic symbol (every export must be a versioned function): {line}"),
        }
    }
    let expected = versioned_symbols();
    assert_eq!(exported, expected, "exported functions and their versions vs abi/libpsample.map:\n{syms}");
    let mut expected_nodes: Vec<String> = expected.into_values().collect();
    expected_nodes.dedup();
    nodes.sort();
    expected_nodes.sort();
    expected_nodes.dedup();
    assert_eq!(nodes, expected_nodes, "{syms}");

    // The in-tree links are the installed ones.
    let lib = dir.join("build/lib");
    assert_eq!(fs::read_link(lib.join("libpsample.so.0")).unwrap(), Path::new(&format!("libpsample.so.{VERSION}")));
    assert_eq!(fs::read_link(lib.join("libpsample.so")).unwrap(), Path::new("libpsample.so.0"));
}
