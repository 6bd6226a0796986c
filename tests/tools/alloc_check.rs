//! Test tool (run in the VM by tests/vm/kernel-tests.sh): proves the receive path allocates
//! nothing per sample or per `psample_recv` call once the handle is open. A counting global
//! allocator counts every allocation made while inside `psample_recv`; the tool sends bounded UDP
//! datagrams to 127.0.0.1 in a namespace whose loopback egress is sampled, and receives them
//! through the C entry point. Last line: "N passed, M failed".

use std::alloc::{GlobalAlloc, Layout, System};
use std::net::UdpSocket;
use std::sync::atomic::{AtomicU64, Ordering};

use psample::ffi::{psample_close, psample_recv, psample_subscribe, types::psample_opts, types::psample_packet};

struct Counting;

static ALLOCATIONS: AtomicU64 = AtomicU64::new(0);

// SAFETY: forwards to the system allocator unchanged; only counts.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        // SAFETY: same contract as the caller's.
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: same contract as the caller's.
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        // SAFETY: same contract as the caller's.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

fn main() {
    const SENT: usize = 5000;
    let (mut passed, mut failed) = (0, 0);
    let mut check = |ok: bool, what: &str| {
        if ok {
            passed += 1;
        } else {
            failed += 1;
            eprintln!("FAIL: {what}");
        }
    };

    let opts = psample_opts {
        size: std::mem::size_of::<psample_opts>(),
        flags: psample::ffi::types::PSAMPLE_SUB_NONBLOCK,
        rcvbuf: 0,
        groups: std::ptr::null(),
        n_groups: 0,
        netns_fd: 0,
        batch: 64,
        reserved: 0,
    };
    let mut sub = std::ptr::null_mut();
    // SAFETY: valid out pointer and options struct of the size given.
    let rc = unsafe { psample_subscribe(&mut sub, &opts) };
    assert_eq!(rc, 0, "psample_subscribe: {}", psample::__private::c_message(rc).to_string_lossy());

    let sink = UdpSocket::bind("127.0.0.1:9999").expect("bind the sink");
    let out = UdpSocket::bind("127.0.0.1:0").expect("bind the sender");
    let payload = [0x55u8; 200];
    // SAFETY: psample_packet is plain data; all-zero is valid.
    let mut pkts: Vec<psample_packet> = vec![unsafe { std::mem::zeroed() }; 64];
    let (mut received, mut calls, mut allocs_in_recv) = (0usize, 0u64, 0u64);
    let started = std::time::Instant::now();
    for i in 0..SENT {
        out.send_to(&payload, sink.local_addr().expect("sink address")).expect("send to 127.0.0.1");
        if i % 50 == 49 || i == SENT - 1 {
            loop {
                let before = ALLOCATIONS.load(Ordering::Relaxed);
                // SAFETY: `sub` is open; `pkts` holds 64 elements of the size passed.
                let n =
                    unsafe { psample_recv(sub, pkts.as_mut_ptr(), pkts.len(), std::mem::size_of::<psample_packet>()) };
                allocs_in_recv += ALLOCATIONS.load(Ordering::Relaxed) - before;
                calls += 1;
                if n <= 0 {
                    break;
                }
                received += n as usize;
            }
        }
    }
    while received < SENT && started.elapsed().as_secs() < 10 {
        let before = ALLOCATIONS.load(Ordering::Relaxed);
        // SAFETY: as above.
        let n = unsafe { psample_recv(sub, pkts.as_mut_ptr(), pkts.len(), std::mem::size_of::<psample_packet>()) };
        allocs_in_recv += ALLOCATIONS.load(Ordering::Relaxed) - before;
        calls += 1;
        if n > 0 {
            received += n as usize;
        } else {
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
    }
    println!("alloc_check: {received} samples in {calls} psample_recv calls, {allocs_in_recv} allocations inside them");
    check(received == SENT, "every datagram was sampled and received");
    check(allocs_in_recv == 0, "no allocation inside psample_recv");
    // SAFETY: closing the handle opened above, once.
    unsafe { psample_close(sub) };
    println!("alloc_check: {passed} passed, {failed} failed");
    std::process::exit(if failed == 0 { 0 } else { 1 });
}
