//! Errors of the Rust API on the build machine (no psample module there): each carries the
//! operation that failed, and its text gives advice only where that operation makes it true.
//! Entering a namespace (even one's own) needs CAP_SYS_ADMIN: the host runs as root, as `make
//! test` does.

use std::fs::File;
use std::io;
use std::os::fd::AsFd;
use std::path::Path;

use psample::{list_groups, Errno, Op, Options, Subscription};

#[test]
fn psample_missing_is_the_family_lookup_and_says_modprobe() {
    match Subscription::open(Options::default()) {
        Ok(_) => assert!(Path::new("/sys/module/psample").exists(), "opened without psample"),
        Err(e) => {
            assert_eq!((e.op(), e.errno()), (Op::ResolveFamily, Errno(libc::ENOENT)), "{e}");
            let text = e.to_string();
            assert!(text.starts_with("looking up the psample generic netlink family: "), "{text}");
            assert!(text.contains("modprobe psample") && text.contains("Options::wait_family"), "{text}");
            let io = io::Error::from(e);
            assert_eq!(io.kind(), io::ErrorKind::NotFound);
            assert_eq!(io.to_string(), text, "io::Error keeps the whole text");
        }
    }
}

/// A file that is not a network namespace: entering it fails, and the text is about the
/// namespace file, not about the module.
#[test]
fn a_file_that_is_no_namespace_is_an_enter_netns_error() {
    let opts = Options::default().wait_family(true).netns(File::open("/dev/null").unwrap());
    let e = Subscription::open(opts).expect_err("/dev/null is not a network namespace");
    assert_eq!((e.op(), e.errno()), (Op::EnterNetns, Errno(libc::EBADF)), "{e}");
    let text = e.to_string();
    assert!(text.contains("Options::netns is not an open network namespace file"), "{text}");
    assert!(!text.contains("modprobe"), "{text}");

    let null = File::open("/dev/null").unwrap();
    let e = list_groups(Some(null.as_fd()), |_| {}).expect_err("/dev/null is not a network namespace");
    assert_eq!((e.op(), e.errno()), (Op::EnterNetns, Errno(libc::EBADF)), "{e}");
}

/// The namespace file is the options': opening from this thread's own namespace through it
/// works after the caller's `File` is gone (it was moved in).
#[test]
fn the_options_keep_their_namespace_file() {
    let opts = Options::default().wait_family(true).nonblocking(true);
    let opts = opts.netns(File::open("/proc/self/ns/net").unwrap());
    let mut sub = Subscription::open(opts.clone()).expect("own namespace, wait_family");
    let e = sub.recv(4, |_| {}).expect_err("nothing arrives");
    assert_eq!((e.op(), e.errno()), (Op::Receive, Errno(libc::EAGAIN)), "{e}");
    assert!(e.to_string().contains("no sample is queued yet"), "{e}");
    drop(sub);
    Subscription::open(opts).expect("a clone of the options opens again");
}

#[test]
fn invalid_options_are_a_check_options_error() {
    let e = Subscription::open(Options::default().no_samples(true)).expect_err("nothing would arrive");
    assert_eq!((e.op(), e.errno()), (Op::CheckOptions, Errno(libc::EINVAL)), "{e}");
    assert!(e.to_string().contains("no_samples without config_events"), "{e}");
}

/// The handles print what identifies them, not their buffers.
#[test]
fn handles_are_debug_without_buffers() {
    let sub = Subscription::open(Options::default().wait_family(true).groups([7])).expect("wait_family opens");
    let remote = sub.remote();
    let text = format!("{sub:?}");
    assert!(
        text.starts_with("Subscription { fd: ") && text.contains("joined: ") && text.contains("groups: [7]"),
        "{text}"
    );
    assert!(text.len() < 1000, "no buffers: {} bytes", text.len());
    assert_eq!(format!("{remote:?}"), "Remote { subscription_open: true, .. }");
    drop(sub);
    assert_eq!(format!("{remote:?}"), "Remote { subscription_open: false, .. }");
}
