//! psample_wakeup's core (`Remote::wake`) on the build machine: a subscription with `wait_family`
//! opens without psample loaded (or joins it when it is), so no sample arrives and every wait is
//! decided by the wake-ups alone. The host runs as root (as `make test` does): the waker connects.

use std::thread;
use std::time::{Duration, Instant};

use psample::{Errno, Options, Remote, Subscription};

fn open(nonblocking: bool) -> Subscription {
    Subscription::open(Options::default().wait_family(true).nonblocking(nonblocking))
        .expect("generic netlink is available and wait_family opens without psample")
}

fn recv(sub: &mut Subscription) -> Result<usize, Errno> {
    sub.recv(8, |_| {})
}

#[test]
fn remote_is_send_sync_clone() {
    fn check<T: Send + Sync + Clone + 'static>() {}
    check::<Remote>();
}

#[test]
fn each_wakeup_cancels_one_nonblocking_recv() {
    let mut sub = open(true);
    assert_eq!(recv(&mut sub), Err(Errno(libc::EAGAIN)));
    let remote = sub.remote();
    for _ in 0..3 {
        remote.wake().unwrap();
    }
    for i in 0..3 {
        assert_eq!(recv(&mut sub), Err(Errno(libc::ECANCELED)), "wake-up {i}");
    }
    assert_eq!(recv(&mut sub), Err(Errno(libc::EAGAIN)), "three wake-ups cancel three calls, no more");
}

#[test]
fn a_wakeup_from_another_thread_ends_a_blocked_recv() {
    let mut sub = open(false);
    let remote = sub.remote();
    let start = Instant::now();
    let waker = thread::spawn(move || {
        thread::sleep(Duration::from_millis(200));
        remote.wake().unwrap();
    });
    assert_eq!(recv(&mut sub), Err(Errno(libc::ECANCELED)));
    assert!(start.elapsed() >= Duration::from_millis(150), "recv blocked until the wake-up");
    waker.join().unwrap();

    // A wake-up before the call: the next call that would block returns at once.
    sub.remote().wake().unwrap();
    assert_eq!(recv(&mut sub), Err(Errno(libc::ECANCELED)));
}

#[test]
fn a_wakeup_answers_the_next_blocking_recv_at_once() {
    // pcap_breakloop: checked at the top of the call, before any read, so a blocking handle
    // returns without waiting (the receiver here would otherwise block forever).
    let mut sub = open(false);
    let remote = sub.remote();
    remote.wake().unwrap();
    remote.wake().unwrap();
    let start = Instant::now();
    assert_eq!(recv(&mut sub), Err(Errno(libc::ECANCELED)));
    assert_eq!(recv(&mut sub), Err(Errno(libc::ECANCELED)));
    assert!(start.elapsed() < Duration::from_secs(1), "no wait: {:?}", start.elapsed());
    // The two tokens are still queued: the next recv reads them, finds no wake-up pending and
    // waits again, until this one.
    let waker = thread::spawn(move || {
        thread::sleep(Duration::from_millis(200));
        remote.wake().unwrap();
    });
    let start = Instant::now();
    assert_eq!(recv(&mut sub), Err(Errno(libc::ECANCELED)));
    assert!(start.elapsed() >= Duration::from_millis(150), "stale tokens did not end the wait");
    waker.join().unwrap();
}

#[test]
fn a_pending_wakeup_makes_the_descriptor_readable() {
    let mut sub = open(true);
    let readable = |sub: &Subscription| {
        let mut p = libc::pollfd { fd: sub.fd(), events: libc::POLLIN, revents: 0 };
        // SAFETY: one live pollfd for the duration of the call.
        let n = unsafe { libc::poll(&mut p, 1, 0) };
        assert!(n >= 0);
        p.revents & libc::POLLIN != 0
    };
    assert!(!readable(&sub), "nothing queued, nothing pending");
    sub.remote().wake().unwrap();
    assert!(readable(&sub), "a wake-up wakes a poller");
    assert_eq!(recv(&mut sub), Err(Errno(libc::ECANCELED)));
    // The event-loop pattern: receive until EAGAIN. The token is read and never returned.
    assert_eq!(recv(&mut sub), Err(Errno(libc::EAGAIN)));
    assert!(!readable(&sub), "drained");
    assert_eq!(sub.stats().decode_errors, 0, "a token is not a decode error");
    assert_eq!(sub.stats().rejected_userspace, 0, "nor a rejected userspace sample");
}

#[test]
fn a_remote_keeps_only_counters_after_the_subscription_is_dropped() {
    let sub = open(true);
    // The socket's identity (its inode), as the descriptor number may be reused by another test.
    let link = format!("/proc/self/fd/{}", sub.fd());
    let socket = std::fs::read_link(&link).expect("the socket is open");
    let remote = sub.remote();
    let live = remote.stats();
    assert!(live.rcvbuf > 0);
    drop(sub);
    assert_ne!(
        std::fs::read_link(&link).ok(),
        Some(socket),
        "the socket closes with the subscription, whatever Remotes are left"
    );
    let st = remote.stats();
    assert_eq!(st.rcvbuf, live.rcvbuf, "the final figures stay readable");
    assert_eq!((st.delivered, st.kernel_drops), (0, 0));
    assert_eq!(remote.wake(), Err(Errno(libc::ENOTCONN)), "a wake-up after the drop does nothing");
    assert_eq!(remote.clone().wake(), Err(Errno(libc::ENOTCONN)));
}
