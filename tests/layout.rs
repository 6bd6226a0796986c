//! C versus Rust layout of every public struct: for each field of each struct in
//! `include/psample.h`, the offset and size the C compiler gives must equal Rust's `offset_of!`
//! and field size, and the structs' sizes and alignments must match.
//!
//! The Rust side is the table in `rust_layouts()`. It is checked complete against the header:
//! a field added to a struct in src/ffi/types.rs (and so, after the bless, to psample.h) fails
//! here until it is added to the table too.
//!
//! Needs cc.

use std::collections::BTreeMap;
use std::fs;
use std::mem::{align_of, offset_of, size_of};
use std::process::Command;

use psample::ffi::types::*;

mod support;
use support::{run, run_ok, target_dir, text, ROOT};

/// Size and alignment of a struct, and (name, offset, size) of each field in declaration order.
#[derive(Debug, PartialEq, Eq)]
struct Layout {
    size: usize,
    align: usize,
    fields: Vec<(String, usize, usize)>,
}

/// Size of the field `field` returns a reference to (its type is inferred from the closure).
fn field_size<S, F>(_field: fn(&S) -> &F) -> usize {
    size_of::<F>()
}

/// `layout!(psample_opts { size, flags })`: the Rust layout of those fields.
macro_rules! layout {
    ($ty:ident { $($field:ident),* $(,)? }) => {
        (
            stringify!($ty).to_string(),
            Layout {
                size: size_of::<$ty>(),
                align: align_of::<$ty>(),
                fields: vec![$((
                    stringify!($field).to_string(),
                    offset_of!($ty, $field),
                    field_size(|s: &$ty| &s.$field),
                )),*],
            },
        )
    };
}

/// Every public struct with every field, in declaration order.
fn rust_layouts() -> BTreeMap<String, Layout> {
    BTreeMap::from([
        layout!(psample_opts { size, flags, rcvbuf, groups, n_groups, netns_fd, batch, reserved }),
        layout!(psample_tunnel {
            id,
            geneve_opts,
            erspan_opts,
            fields,
            geneve_opts_len,
            erspan_opts_len,
            ipv4_src,
            ipv4_dst,
            ipv6_src,
            ipv6_dst,
            tp_src,
            tp_dst,
            tos,
            ttl,
            reserved,
        }),
        layout!(psample_packet {
            fields,
            timestamp_ns,
            latency_ns,
            out_tc_occ,
            data,
            user_cookie,
            kind,
            flags,
            group,
            group_seq,
            rate,
            orig_size,
            data_len,
            iifindex,
            oifindex,
            user_cookie_len,
            group_refcount,
            sender_portid,
            nsid,
            out_tc,
            proto,
            tunnel,
            seq_lost,
        }),
        layout!(psample_stats {
            size,
            delivered,
            kernel_drops,
            seq_gaps,
            truncated,
            decode_errors,
            enobufs,
            rejected_userspace,
            config_events,
            family_removed,
            resubscribed,
            rcvbuf,
            groups_tracked,
            joined,
        }),
        layout!(psample_group_info { group, refcount, next_seq, reserved }),
        layout!(psample_group_stats { delivered, seq_lost, nsid, group, last_seq, reserved }),
    ])
}

/// The structs defined in the header (`struct NAME {` ... `};`) and their field names in order.
/// cbindgen writes one declaration per line: `  TYPE NAME;` or `  TYPE NAME[N];`.
fn header_structs(header: &str) -> BTreeMap<String, Vec<String>> {
    let mut structs = BTreeMap::new();
    let mut current: Option<(String, Vec<String>)> = None;
    for line in header.lines() {
        let line = line.trim();
        if let Some((name, fields)) = current.as_mut() {
            if line == "};" {
                let (name, fields) = (std::mem::take(name), std::mem::take(fields));
                structs.insert(name, fields);
                current = None;
            } else if !line.is_empty() && !line.starts_with("//") {
                let decl = line.strip_suffix(';').unwrap_or_else(|| panic!("unexpected line in {name}: {line}"));
                let decl = decl.split('[').next().unwrap();
                let field = decl.rsplit([' ', '*']).next().unwrap();
                fields.push(field.to_string());
            }
        } else if let Some(name) = line.strip_prefix("struct ").and_then(|l| l.strip_suffix(" {")) {
            current = Some((name.to_string(), Vec::new()));
        }
    }
    assert!(current.is_none(), "unterminated struct in psample.h");
    structs
}

/// A C program that prints, for each struct, `S NAME SIZE ALIGN` and then `F NAME FIELD OFFSET SIZE`
/// per field, as the C compiler lays them out.
fn c_program(structs: &BTreeMap<String, Vec<String>>) -> String {
    let mut c =
        String::from("#include <stdalign.h>\n#include <stddef.h>\n#include <stdio.h>\n#include \"psample.h\"\n\n");
    c.push_str("int main(void)\n{\n");
    for (name, fields) in structs {
        c.push_str(&format!("\tprintf(\"S {name} %zu %zu\\n\", sizeof(struct {name}), alignof(struct {name}));\n"));
        for field in fields {
            c.push_str(&format!(
                "\tprintf(\"F {name} {field} %zu %zu\\n\", offsetof(struct {name}, {field}), \
                 sizeof(((struct {name} *)0)->{field}));\n"
            ));
        }
    }
    c.push_str("\treturn 0;\n}\n");
    c
}

/// Parses the program's output back into layouts.
fn parse_c_layouts(out: &str) -> BTreeMap<String, Layout> {
    let mut layouts = BTreeMap::new();
    for line in out.lines() {
        let words: Vec<&str> = line.split(' ').collect();
        let num = |i: usize| -> usize { words[i].parse().unwrap_or_else(|_| panic!("bad line {line:?}")) };
        match words[0] {
            "S" => {
                layouts.insert(words[1].to_string(), Layout { size: num(2), align: num(3), fields: Vec::new() });
            }
            "F" => {
                let layout = layouts.get_mut(words[1]).expect("S line before F lines");
                layout.fields.push((words[2].to_string(), num(3), num(4)));
            }
            _ => panic!("bad line {line:?}"),
        }
    }
    layouts
}

#[test]
fn header_parser_sees_every_field() {
    let structs = header_structs(
        "struct a {\n  // doc\n  size_t size;\n  const uint32_t *groups;\n  uint8_t ipv4_src[4];\n  struct b tunnel;\n};\n",
    );
    assert_eq!(structs["a"], ["size", "groups", "ipv4_src", "tunnel"]);
}

#[test]
fn rust_table_lists_every_field_of_every_header_struct() {
    let header = fs::read_to_string(format!("{ROOT}/include/psample.h")).unwrap();
    let in_header = header_structs(&header);
    let in_table: BTreeMap<String, Vec<String>> = rust_layouts()
        .into_iter()
        .map(|(name, layout)| (name, layout.fields.into_iter().map(|(field, _, _)| field).collect()))
        .collect();
    assert_eq!(
        in_table, in_header,
        "tests/layout.rs rust_layouts() must list every struct and field of psample.h, in order"
    );
}

#[test]
fn c_and_rust_layouts_are_identical() {
    let header = fs::read_to_string(format!("{ROOT}/include/psample.h")).unwrap();
    let structs = header_structs(&header);
    assert!(structs.len() >= 5, "found only {structs:?} in psample.h");

    let dir = target_dir().join("layout-test");
    fs::create_dir_all(&dir).unwrap();
    let src = dir.join("layout.c");
    let exe = dir.join("layout");
    fs::write(&src, c_program(&structs)).unwrap();
    run_ok(
        Command::new("cc")
            .args(["-std=c11", "-Wall", "-Wextra", "-Werror", "-o"])
            .arg(&exe)
            .arg(format!("-I{ROOT}/include"))
            .arg(&src),
    );
    let out = run(&mut Command::new(&exe));
    assert!(out.status.success(), "{}: {out:?}", exe.display());
    let c = parse_c_layouts(&text(&out.stdout));
    let rust = rust_layouts();

    let mut compared = 0;
    for (name, c_layout) in &c {
        let rust_layout = rust.get(name).unwrap_or_else(|| panic!("struct {name} is missing from rust_layouts()"));
        for (c_field, rust_field) in c_layout.fields.iter().zip(&rust_layout.fields) {
            assert_eq!(c_field, rust_field, "struct {name}: (field, offset, size) in C vs Rust");
            compared += 1;
        }
        assert_eq!(c_layout, rust_layout, "struct {name}: C vs Rust");
    }
    assert_eq!(compared, rust.values().map(|l| l.fields.len()).sum::<usize>());
    assert!(compared >= 60, "compared only {compared} fields");
}

/// The header refuses a 32-bit compilation (the layouts above are LP64 ones) with a clear error.
/// -ffreestanding: the compiler's own stdint.h, so no 32-bit libc headers are needed.
#[cfg(target_arch = "x86_64")]
#[test]
fn header_refuses_32_bit_targets() {
    for abi in ["-m64", "-m32", "-mx32"] {
        let out = run(Command::new("cc")
            .args(["-std=c11", "-ffreestanding", "-fsyntax-only", abi, "-x", "c"])
            .arg(format!("{ROOT}/include/psample.h")));
        let stderr = text(&out.stderr);
        if abi == "-m64" {
            assert!(out.status.success(), "psample.h with {abi}: {stderr}");
        } else {
            assert!(!out.status.success(), "psample.h compiled with {abi}");
            assert!(stderr.contains("libpsample supports 64-bit targets only"), "psample.h with {abi}: {stderr}");
        }
    }
}
