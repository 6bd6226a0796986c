//! psample_wakeup's core (`Remote::wake`) on the build machine: a subscription with `wait_family`
//! opens without psample loaded (or joins it when it is), so no sample arrives and every wait is
//! decided by the wake-ups alone.

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
fn stats_outlive_the_subscription_through_a_remote() {
    let sub = open(true);
    let remote = sub.remote();
    drop(sub);
    let st = remote.stats();
    assert_eq!(st.delivered, 0);
    assert!(st.rcvbuf > 0, "the socket stays open while a Remote exists");
}
