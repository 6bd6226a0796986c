//! The other languages' consumers of an installed libpsample: after `make install DESTDIR=...
//! PREFIX=/usr`, the Go package (bindings/go, its test binary) and the C++ example
//! (examples-c/raii.cpp) build through pkg-config alone, and they and the Python package
//! (bindings/python) run against the installed library. The host has no psample module, so each
//! must report psample_strerror(-ENOENT). Then `make uninstall` must leave nothing.
//!
//! Needs make, pkg-config, c++, readelf, go (Debian's golang-go) and python3. Go builds offline
//! (standard library only, GOPROXY=off) with its cache under target/.

use std::fs;
use std::path::Path;
use std::process::Command;

mod support;
use support::{files_under, make, run, run_ok, target_dir, text, ROOT, VERSION};

#[test]
fn bindings_build_and_run_against_make_install() {
    let dir = target_dir().join("install-bindings-test");
    let _ = fs::remove_dir_all(&dir);
    fs::create_dir_all(&dir).unwrap();
    let root = dir.join("root");
    let builddir = dir.join("build");
    make("install", &root, &builddir);
    let lib = root.join("usr/lib");
    // pkg-config finds the installed psample.pc, and prefixes its paths with the DESTDIR.
    let with_pkg_config = |mut cmd: Command| {
        cmd.env("PKG_CONFIG_PATH", lib.join("pkgconfig")).env("PKG_CONFIG_SYSROOT_DIR", &root);
        cmd
    };
    let enoent = psample::__private::c_message(-libc::ENOENT).to_str().unwrap().to_string();

    // Go: the package's test binary, compiled and linked with what pkg-config says and nothing else.
    let go_pkg = Path::new(ROOT).join("bindings/go");
    let go_test = dir.join("psample-go.test");
    let mut go = with_pkg_config(Command::new("go"));
    for var in ["CGO_CFLAGS", "CGO_CPPFLAGS", "CGO_LDFLAGS", "GOFLAGS", "GOOS", "GOARCH"] {
        go.env_remove(var);
    }
    // A fresh cache each run: Go's cache keys include neither C headers outside the package nor
    // pkg-config's output, so a cached build could hide a change to the installed psample.h. Only
    // this package is compiled (Debian's Go ships its standard library built).
    run_ok(
        go.args(["test", "-c", "-o"])
            .arg(&go_test)
            .arg(".")
            .current_dir(&go_pkg)
            .env("GOCACHE", dir.join("go-cache"))
            .env("GOPATH", dir.join("go-path"))
            .env("GOFLAGS", "-mod=readonly -buildvcs=false")
            .env("GOPROXY", "off")
            .env("GOTOOLCHAIN", "local")
            .env("CGO_ENABLED", "1"),
    );
    let dynamic = text(&run_ok(Command::new("readelf").arg("-d").arg(&go_test)).stdout);
    assert!(dynamic.contains("Shared library: [libpsample.so.0]"), "{dynamic}");
    assert!(!dynamic.contains("RUNPATH") && !dynamic.contains("RPATH"), "the installed .pc adds no rpath:\n{dynamic}");
    let out = run(Command::new(&go_test)
        .arg("-test.v")
        .current_dir(&go_pkg) // TestVersion reads ../../Cargo.toml
        .env("LD_LIBRARY_PATH", &lib)
        .env_remove("PSAMPLE_IN_VM"));
    let log = text(&out.stdout);
    assert!(out.status.success(), "Go tests against the install: {}\n{log}{}", out.status, text(&out.stderr));
    for want in
        ["--- PASS: TestNoPsample", "--- PASS: TestVersion", "--- PASS: TestDecode", "--- SKIP: TestVMLoopbackSample"]
    {
        assert!(log.contains(want), "no {want:?} in:\n{log}");
    }

    // C++: the RAII example, built the way its header comment says.
    let cxx_flags =
        text(&run_ok(with_pkg_config(Command::new("pkg-config")).args(["--cflags", "--libs", "psample"])).stdout);
    let raii = dir.join("raii");
    run_ok(
        Command::new("c++")
            .args(["-std=c++17", "-pedantic", "-Wall", "-Wextra", "-Werror", "-o"])
            .arg(&raii)
            .arg(format!("{ROOT}/examples-c/raii.cpp"))
            .args(cxx_flags.split_whitespace()),
    );
    let out = run(Command::new(&raii).env("LD_LIBRARY_PATH", &lib));
    assert_eq!(out.status.code(), Some(1), "raii: {out:?}");
    assert_eq!(text(&out.stderr), format!("raii: {enoent}\n"));
    assert!(out.stdout.is_empty(), "raii printed on stdout: {}", text(&out.stdout));

    // Python: found by its SONAME through the loader's path, as an installed library is.
    let script = "import errno, psample\n\
                  print(psample.version())\n\
                  try:\n    psample.subscribe()\n\
                  except FileNotFoundError as e:\n    print(e.errno == errno.ENOENT)\n    print(e.strerror)\n";
    let out = run_ok(
        Command::new("python3")
            .args(["-c", script])
            .env("PYTHONPATH", Path::new(ROOT).join("bindings/python/src"))
            .env("PYTHONDONTWRITEBYTECODE", "1")
            .env("LD_LIBRARY_PATH", &lib)
            .env_remove("PSAMPLE_LIBRARY"),
    );
    assert_eq!(text(&out.stdout), format!("{VERSION}\nTrue\n{enoent}\n"), "{}", text(&out.stderr));

    make("uninstall", &root, &builddir);
    let left = files_under(&root);
    assert!(left.is_empty(), "make uninstall left {left:?}");
}
