//! The C ABI as C and C++ programs see it: the header compiles cleanly in every language mode,
//! tests/c/abi_test.c and the examples run against the C API's cdylib (built by the test), and
//! `make install` / `make uninstall` produce and remove a usable, pkg-config-driven install.
//!
//! Needs cc, c++, make, pkg-config, readelf and nm. The host has no psample module, so the
//! examples must fail with psample_strerror(-ENOENT) ("modprobe psample").

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

mod support;
use support::{cdylib, files_under, make, run, run_ok, target_dir, text, ROOT, VERSION};

const EXPORTS: [&str; 14] = [
    "psample_close",
    "psample_decode",
    "psample_effective_rate",
    "psample_fd",
    "psample_group_stats",
    "psample_list_groups",
    "psample_ovs_cookie",
    "psample_poll_fd",
    "psample_recv",
    "psample_stats",
    "psample_strerror",
    "psample_subscribe",
    "psample_version",
    "psample_wakeup",
];

/// An empty directory under target/c-abi-test/, one per test (tests run in parallel).
fn scratch(name: &str) -> PathBuf {
    let dir = target_dir().join("c-abi-test").join(name);
    let _ = fs::remove_dir_all(&dir);
    fs::create_dir_all(&dir).expect("create scratch dir");
    dir
}

/// The C API's cdylib, staged by tests/stage-lib.sh (a private copy, so a concurrent rebuild
/// cannot change it under us) in `dir/lib`, with the SONAME link.
fn stage_cdylib(dir: &Path) -> PathBuf {
    let lib = dir.join("lib");
    run_ok(Command::new(Path::new(ROOT).join("tests/stage-lib.sh")).arg(cdylib()).arg(&lib));
    lib
}

/// Compiles one C or C++ source against the header and `lib`, with rpath, warnings as errors.
fn build(compiler: &str, std: &str, src: &str, lib: &Path, out: &Path) {
    run_ok(
        Command::new(compiler)
            .args([std, "-pedantic", "-Wall", "-Wextra", "-Werror", "-O1", "-g"])
            .arg(format!("-I{ROOT}/include"))
            .arg("-o")
            .arg(out)
            .arg(Path::new(ROOT).join(src))
            .arg(format!("-L{}", lib.display()))
            .arg("-lpsample")
            .arg(format!("-Wl,-rpath,{}", lib.display())),
    );
}

/// What every example must print when psample is absent: exit 1 and "<name>: <strerror>".
fn assert_enoent_exit(out: &Output, name: &str) {
    let expected = format!("{name}: {}\n", psample::__private::c_message(-libc::ENOENT).to_str().unwrap());
    assert_eq!(out.status.code(), Some(1), "{name}: {out:?}");
    assert_eq!(text(&out.stderr), expected, "{name} stderr");
    assert!(expected.contains("modprobe psample"));
    assert!(out.stdout.is_empty(), "{name} printed on stdout: {}", text(&out.stdout));
}

/// The psample tool without psample: exit 1 and "psample: subscribe: <strerror>".
fn assert_tool_enoent_exit(out: &Output) {
    let expected = format!("psample: subscribe: {}\n", psample::__private::c_message(-libc::ENOENT).to_str().unwrap());
    assert_eq!(out.status.code(), Some(1), "psample: {out:?}");
    assert_eq!(text(&out.stderr), expected, "psample stderr");
    assert!(out.stdout.is_empty(), "psample printed on stdout: {}", text(&out.stdout));
}

#[test]
fn header_compiles_in_every_language_mode() {
    let dir = scratch("header");
    // Included twice: the include guard must hold.
    let tu = "#include \"psample.h\"\n#include \"psample.h\"\n\
              int psample_header_check(void);\nint psample_header_check(void) { return PSAMPLE_VERSION_MAJOR; }\n";
    for (compiler, std, ext) in
        [("cc", "-std=c99", "c"), ("cc", "-std=c11", "c"), ("c++", "-std=c++11", "cpp"), ("c++", "-std=c++17", "cpp")]
    {
        let src = dir.join(format!("tu{std}.{ext}"));
        fs::write(&src, tu).unwrap();
        let out = run(Command::new(compiler)
            .args([std, "-Wall", "-Wextra", "-Werror", "-pedantic", "-fsyntax-only"])
            .arg(format!("-I{ROOT}/include"))
            .arg(&src));
        assert!(out.status.success(), "psample.h with {compiler} {std}:\n{}", text(&out.stderr));
    }
}

#[test]
fn abi_test_passes_against_the_cdylib() {
    let dir = scratch("abi");
    let lib = stage_cdylib(&dir);
    let exe = dir.join("abi_test");
    build("cc", "-std=c11", "tests/c/abi_test.c", &lib, &exe);
    let out = run(&mut Command::new(&exe));
    let stdout = text(&out.stdout);
    let last = stdout.lines().last().unwrap_or_default();
    assert!(
        out.status.success() && last.ends_with(" 0 failed"),
        "abi_test: {}\n{stdout}{}",
        out.status,
        text(&out.stderr)
    );
    let passed: u32 = last.split(' ').next().and_then(|n| n.parse().ok()).expect("\"N passed\"");
    assert!(passed >= 100, "abi_test ran only {passed} checks");
}

/// tests/c/live_handle_test.c: the handle functions on a live `PSAMPLE_SUB_WAIT_FAMILY` handle,
/// which this host (no psample) gives.
#[test]
fn live_handle_test_passes_against_the_cdylib() {
    let dir = scratch("live-handle");
    let lib = stage_cdylib(&dir);
    let exe = dir.join("live_handle_test");
    build("cc", "-std=c11", "tests/c/live_handle_test.c", &lib, &exe);
    let out = run(&mut Command::new(&exe));
    let stdout = text(&out.stdout);
    let last = stdout.lines().last().unwrap_or_default();
    assert!(
        out.status.success() && last.ends_with(" 0 failed"),
        "live_handle_test: {}\n{stdout}{}",
        out.status,
        text(&out.stderr)
    );
    let passed: u32 = last.split(' ').next().and_then(|n| n.parse().ok()).expect("\"N passed\"");
    assert!(passed >= 40, "live_handle_test ran only {passed} checks");
}

#[test]
fn psample_dump_reports_missing_psample() {
    let dir = scratch("dump");
    let lib = stage_cdylib(&dir);
    let exe = dir.join("psample-dump");
    build("cc", "-std=c11", "examples-c/psample-dump.c", &lib, &exe);
    assert_enoent_exit(&run(&mut Command::new(&exe)), "psample-dump");
    // Every option is parsed before subscribing.
    let out = run(Command::new(&exe).args(["-g", "1", "-g", "0x10", "-c", "5", "-n", "-a", "-s"]));
    assert_enoent_exit(&out, "psample-dump");
    // Usage errors are exit 2, without touching the library.
    for bad in [&["-c", "0"][..], &["-g", "x"], &["-g", "4294967296"], &["extra"], &["-z"]] {
        let out = run(Command::new(&exe).args(bad));
        assert_eq!(out.status.code(), Some(2), "psample-dump {bad:?}: {out:?}");
        assert!(text(&out.stderr).contains("usage: psample-dump"), "psample-dump {bad:?}");
    }
    let out = run_ok(Command::new(&exe).arg("-h"));
    assert!(text(&out.stdout).starts_with("usage: psample-dump"));
}

#[test]
fn psample_tool_without_pcap_refuses_write() {
    let dir = scratch("tool-no-pcap");
    let lib = stage_cdylib(&dir);
    let exe = dir.join("psample");
    // What `make PCAP=no` builds: no libpcap header or library involved.
    run_ok(
        Command::new("cc")
            .args(["-std=c11", "-Wall", "-Wextra", "-Werror", "-O1", "-DPSAMPLE_TOOL_PCAP=0"])
            .arg(format!("-I{ROOT}/include"))
            .arg("-o")
            .arg(&exe)
            .args(
                ["psample.c", "options.c", "output.c", "pcap.c"].map(|f| Path::new(ROOT).join("tools/psample").join(f)),
            )
            .arg(format!("-L{}", lib.display()))
            .arg("-lpsample")
            .arg(format!("-Wl,-rpath,{}", lib.display())),
    );
    let needed = text(&run_ok(Command::new("readelf").arg("-d").arg(&exe)).stdout);
    assert!(!needed.contains("libpcap"), "built without pcap, yet needs libpcap:\n{needed}");
    let out = run(Command::new(&exe).args(["--write", "-"]));
    assert_eq!(out.status.code(), Some(1), "psample --write: {out:?}");
    assert_eq!(text(&out.stderr), "psample: --write: this psample was built without libpcap (make PCAP=yes)\n");
    assert!(out.stdout.is_empty());
    // Everything else works as with pcap.
    assert_tool_enoent_exit(&run(&mut Command::new(&exe)));
}

#[test]
fn raii_example_reports_missing_psample() {
    let dir = scratch("raii");
    let lib = stage_cdylib(&dir);
    let exe = dir.join("raii");
    build("c++", "-std=c++17", "examples-c/raii.cpp", &lib, &exe);
    assert_enoent_exit(&run(&mut Command::new(&exe)), "raii");
}

#[test]
fn make_install_and_uninstall() {
    let dir = scratch("install");
    let root = dir.join("root");
    let builddir = target_dir().join("install-test").join("build");
    make("install", &root, &builddir);

    let usr = root.join("usr");
    let so = usr.join(format!("lib/libpsample.so.{VERSION}"));
    assert!(fs::symlink_metadata(&so).unwrap().is_file(), "{} is a file", so.display());
    let link = |name: &str| fs::read_link(usr.join("lib").join(name)).unwrap();
    assert_eq!(link("libpsample.so.0"), Path::new(&format!("libpsample.so.{VERSION}")));
    assert_eq!(link("libpsample.so"), Path::new("libpsample.so.0"));
    assert!(usr.join("lib/libpsample.a").is_file());
    assert_eq!(
        fs::read(usr.join("include/psample.h")).unwrap(),
        fs::read(format!("{ROOT}/include/psample.h")).unwrap()
    );
    let pc = fs::read_to_string(usr.join("lib/pkgconfig/psample.pc")).unwrap();
    assert!(pc.contains(&format!("Version: {VERSION}")) && pc.contains("libdir=/usr/lib") && !pc.contains('@'), "{pc}");
    // One installed command, with its man page; psample-dump is an example, not installed.
    let mode = fs::metadata(usr.join("bin/psample")).unwrap().permissions().mode();
    assert_eq!(mode & 0o111, 0o111, "psample is executable");
    assert!(!usr.join("bin/psample-dump").exists(), "psample-dump is an example, not installed");
    assert_eq!(
        fs::read(usr.join("share/man/man8/psample.8")).unwrap(),
        fs::read(format!("{ROOT}/tools/psample/psample.8")).unwrap()
    );
    // The sFlow exporter, a command of its own, with its man page.
    let mode = fs::metadata(usr.join("bin/psample-sflow")).unwrap().permissions().mode();
    assert_eq!(mode & 0o111, 0o111, "psample-sflow is executable");
    assert_eq!(
        fs::read(usr.join("share/man/man8/psample-sflow.8")).unwrap(),
        fs::read(format!("{ROOT}/tools/psample-sflow/psample-sflow.8")).unwrap()
    );

    let dynamic = text(&run_ok(Command::new("readelf").arg("-d").arg(&so)).stdout);
    assert!(dynamic.contains("Library soname: [libpsample.so.0]"), "{dynamic}");

    // Exactly the C API is exported, every function with an ELF version (tests/abi.rs checks which).
    // The version nodes themselves are absolute ("A") symbols.
    let nm = text(&run_ok(Command::new("nm").args(["-D", "--defined-only"]).arg(&so)).stdout);
    let mut exported: Vec<&str> = nm
        .lines()
        .map(|l| l.split_whitespace().collect::<Vec<_>>())
        .filter(|cols| cols.len() == 3 && cols[1] != "A")
        .map(|cols| match cols[2].split_once("@@") {
            Some((name, version)) if version.starts_with("PSAMPLE_") => name,
            _ => panic!("unversioned export {:?} in:\n{nm}", cols[2]),
        })
        .collect();
    exported.sort_unstable();
    assert_eq!(exported, EXPORTS, "nm -D --defined-only:\n{nm}");

    // A consumer built with nothing but pkg-config.
    let pkg_config = |args: &[&str]| {
        let out = run_ok(
            Command::new("pkg-config")
                .args(args)
                .arg("psample")
                .env("PKG_CONFIG_PATH", usr.join("lib/pkgconfig"))
                .env("PKG_CONFIG_SYSROOT_DIR", &root),
        );
        text(&out.stdout).trim().to_string()
    };
    assert_eq!(pkg_config(&["--modversion"]), VERSION);
    let flags = pkg_config(&["--cflags", "--libs"]);
    assert!(flags.contains(&format!("-I{}", usr.join("include").display())), "{flags}");
    let ld_path = usr.join("lib");
    let dump = dir.join("psample-dump");
    run_ok(
        Command::new("cc")
            .args(["-std=c11", "-Wall", "-Wextra", "-Werror", "-o"])
            .arg(&dump)
            .arg(format!("{ROOT}/examples-c/psample-dump.c"))
            .args(flags.split_whitespace()),
    );
    assert_enoent_exit(&run(Command::new(&dump).env("LD_LIBRARY_PATH", &ld_path)), "psample-dump");
    let tool = run(Command::new(usr.join("bin/psample")).env("LD_LIBRARY_PATH", &ld_path));
    assert_tool_enoent_exit(&tool);

    // Static: libpsample.a plus Libs.private is all a program needs.
    let static_libs = pkg_config(&["--static", "--libs-only-l"]);
    let static_dump = dir.join("psample-dump-static");
    run_ok(
        Command::new("cc")
            .args(["-std=c11", "-Wall", "-Wextra", "-Werror", "-o"])
            .arg(&static_dump)
            .arg(format!("{ROOT}/examples-c/psample-dump.c"))
            .args(pkg_config(&["--cflags"]).split_whitespace())
            .arg(usr.join("lib/libpsample.a"))
            .args(static_libs.split_whitespace().filter(|l| *l != "-lpsample")),
    );
    let needed = text(&run_ok(Command::new("readelf").arg("-d").arg(&static_dump)).stdout);
    assert!(!needed.contains("libpsample"), "static build still needs libpsample.so:\n{needed}");
    assert_enoent_exit(&run(&mut Command::new(&static_dump)), "psample-dump");

    make("uninstall", &root, &builddir);
    let left = files_under(&root);
    assert!(left.is_empty(), "make uninstall left {left:?}");
}
