//! Test tool (run in the VM by tests/vm/kernel-tests.sh, in a namespace whose loopback egress is
//! sampled at rate 1 into group 7): a tokio task receives with `AsyncSubscription::recv` while
//! another task cancels it, during traffic and while idle. Checks that the cancelled
//! subscription is handed back usable and loses no sample (sequence numbers and counts), that a
//! cancel of a waiting receive returns promptly, that the Stream gives the rest, and that
//! `Remote::wake` ends a receive with `ECANCELED` (sent before the await, or during it). Bounded UDP
//! to 127.0.0.1 only. Last line: "N passed, M failed".

use std::future::poll_fn;
use std::net::UdpSocket;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures_core::Stream;
use psample::{AsyncSubscription, Errno, Options, OwnedSample};
use tokio::sync::oneshot;

const GROUP: u32 = 7;
const MAGIC: &[u8] = b"psample-tokio-cancel";
/// Datagrams sent while the receiver is cancelled mid-stream, then after it.
const FLOWING: usize = 3000;
const AFTER: usize = 200;
/// What "promptly" means for a cancel of a receive that is waiting, on one thread.
const CANCEL_LIMIT: Duration = Duration::from_millis(100);
/// The same across worker threads, where the VM's vCPU scheduling (TCG, on a loaded host) adds
/// hundreds of ms; what it rules out is a receive that only ends when a sample arrives.
const MULTI_THREAD_LIMIT: Duration = Duration::from_secs(2);

fn is_ours(pkt: &OwnedSample) -> bool {
    pkt.data().windows(MAGIC.len()).any(|w| w == MAGIC)
}

/// Sends `n` datagrams to 127.0.0.1 from a thread, paced (20 ms per 100).
fn send(n: usize) -> std::thread::JoinHandle<()> {
    std::thread::spawn(move || {
        let sink = UdpSocket::bind("127.0.0.1:0").expect("bind the sink");
        let out = UdpSocket::bind("127.0.0.1:0").expect("bind the sender");
        let to = sink.local_addr().expect("sink address");
        for i in 0..n {
            out.send_to(MAGIC, to).expect("send to 127.0.0.1");
            if i % 100 == 99 {
                std::thread::sleep(Duration::from_millis(20));
            }
        }
        std::thread::sleep(Duration::from_millis(50)); // keep the sink open until the last arrives
    })
}

/// Receives in its own task until told to stop; counts our samples in `got`. Returns the
/// subscription.
fn spawn_receiver(
    mut sub: AsyncSubscription,
    mut cancel: oneshot::Receiver<()>,
    got: Arc<AtomicUsize>,
) -> tokio::task::JoinHandle<AsyncSubscription> {
    tokio::spawn(async move {
        loop {
            tokio::select! {
                pkt = sub.recv() => {
                    let pkt = pkt.expect("recv");
                    got.fetch_add(usize::from(is_ours(&pkt)), Ordering::Relaxed);
                }
                _ = &mut cancel => return sub,
            }
        }
    })
}

/// Cancels a receiver task that waits with no traffic, `rounds` times; returns the cancel-to-return
/// latencies (until the task hands the subscription back), sorted.
async fn idle_cancels(mut sub: AsyncSubscription, rounds: usize) -> (AsyncSubscription, Vec<Duration>) {
    let mut latencies = Vec::with_capacity(rounds);
    for _ in 0..rounds {
        let (stop, cancel) = oneshot::channel();
        let got = Arc::new(AtomicUsize::new(0));
        let receiver = spawn_receiver(sub, cancel, got.clone());
        tokio::time::sleep(Duration::from_millis(20)).await;
        let sent_at = Instant::now();
        let _ = stop.send(());
        sub = receiver.await.expect("receiver task");
        latencies.push(sent_at.elapsed());
        assert_eq!(got.load(Ordering::Relaxed), 0, "no traffic while idle");
    }
    latencies.sort();
    (sub, latencies)
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

fn main() {
    let (mut passed, mut failed) = (0, 0);
    let mut check = |ok: bool, what: &str| {
        if ok {
            passed += 1;
            println!("ok: {what}");
        } else {
            failed += 1;
            println!("FAIL: {what}");
        }
    };
    let multi = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().expect("runtime");
    let single = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");

    multi.block_on(async {
        let sub = AsyncSubscription::open(Options::default().groups([GROUP]).batch(64)).expect("subscribe");

        // 1. Cancelled by another task while samples flow (once a third has arrived); then the
        //    same subscription gets the rest.
        let (stop, cancel) = oneshot::channel();
        let got = Arc::new(AtomicUsize::new(0));
        let receiver = spawn_receiver(sub, cancel, got.clone());
        let sender = send(FLOWING);
        let progress = got.clone();
        let canceller = tokio::spawn(async move {
            let deadline = Instant::now() + Duration::from_secs(10);
            while progress.load(Ordering::Relaxed) < FLOWING / 3 && Instant::now() < deadline {
                tokio::time::sleep(Duration::from_millis(1)).await;
            }
            let _ = stop.send(());
        });
        canceller.await.expect("canceller");
        let mut sub = receiver.await.expect("receiver task");
        let before = got.load(Ordering::Relaxed);
        let mut after = 0;
        let deadline = Instant::now() + Duration::from_secs(10);
        while before + after < FLOWING && Instant::now() < deadline {
            match tokio::time::timeout(Duration::from_secs(2), sub.recv()).await {
                Ok(pkt) => after += usize::from(is_ours(&pkt.expect("recv after cancel"))),
                Err(_) => break,
            }
        }
        tokio::task::spawn_blocking(move || sender.join()).await.expect("join").expect("sender");
        let st = sub.stats();
        println!(
            "tokio_cancel: flowing: {before} before the cancel + {after} after = {} of {FLOWING}; \
             kernel drops {}, sequence gaps {}",
            before + after,
            st.kernel_drops,
            st.seq_gaps
        );
        check(before > 0 && after > 0, "the cancel landed while samples were flowing");
        check(before + after == FLOWING, "no sample lost across the cancel");
        check(st.seq_gaps == 0 && st.kernel_drops == 0, "no sequence gap, no kernel drop");

        // 2. Cancelled while waiting (no traffic), receiver and canceller on different worker
        //    threads: the wake-up crosses threads, so the VM's scheduling adds to it.
        let (back, lat) = idle_cancels(sub, 10).await;
        sub = back;
        println!(
            "tokio_cancel: idle cancel, multi-thread runtime: median {:.3} ms, worst {:.3} ms of {}",
            ms(lat[lat.len() / 2]),
            ms(lat[lat.len() - 1]),
            lat.len()
        );
        check(lat[lat.len() - 1] < MULTI_THREAD_LIMIT, "a cancelled waiting receive returns (multi-thread)");

        // 3. A timeout (a cancel by the runtime) on an idle subscription, then the Stream gets all.
        let t0 = Instant::now();
        let timed_out = tokio::time::timeout(Duration::from_millis(50), sub.recv()).await.is_err();
        println!("tokio_cancel: timeout(50 ms, recv) returned after {:.3} ms", ms(t0.elapsed()));
        check(timed_out, "timeout cancels an idle recv");
        let sender = send(AFTER);
        let mut streamed = 0;
        let deadline = Instant::now() + Duration::from_secs(10);
        while streamed < AFTER && Instant::now() < deadline {
            let next = poll_fn(|cx| Pin::new(&mut sub).poll_next(cx));
            match tokio::time::timeout(Duration::from_secs(2), next).await {
                Ok(Some(pkt)) => streamed += usize::from(is_ours(&pkt.expect("stream item"))),
                Ok(None) | Err(_) => break,
            }
        }
        tokio::task::spawn_blocking(move || sender.join()).await.expect("join").expect("sender");
        let st = sub.stats();
        println!("tokio_cancel: stream after the cancels: {streamed} of {AFTER}; delivered {} in all", st.delivered);
        check(streamed == AFTER, "the subscription stays usable: the Stream gets every sample");
        check(st.seq_gaps == 0 && st.kernel_drops == 0, "still no gap, no drop");
    });

    // 4. The same idle cancel on a current-thread runtime: only the cancel path is measured.
    single.block_on(async {
        let sub = AsyncSubscription::open(Options::default().groups([GROUP])).expect("subscribe");
        let (_, lat) = idle_cancels(sub, 10).await;
        println!(
            "tokio_cancel: idle cancel, current-thread runtime: median {:.3} ms, worst {:.3} ms of {} (limit {} ms)",
            ms(lat[lat.len() / 2]),
            ms(lat[lat.len() - 1]),
            lat.len(),
            CANCEL_LIMIT.as_millis()
        );
        check(lat[lat.len() - 1] < CANCEL_LIMIT, "a cancelled waiting receive returns promptly (current-thread)");
    });

    // 5. Remote::wake ends a receive with ECANCELED: one sent before the await starts, then one
    //    sent from another thread while the receive waits; then every sample still arrives.
    single.block_on(async {
        let mut sub = AsyncSubscription::open(Options::default().groups([GROUP])).expect("subscribe");
        let remote = sub.remote();
        remote.wake().expect("wake");
        let early = tokio::time::timeout(Duration::from_secs(2), sub.recv()).await;
        check(
            matches!(early, Ok(Err(e)) if e == Errno(libc::ECANCELED)),
            "a wake-up before the await ends it with ECANCELED",
        );
        let waker = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(100));
            let at = Instant::now();
            remote.wake().expect("wake");
            at
        });
        let pending = tokio::time::timeout(Duration::from_secs(5), sub.recv()).await;
        let woke = Instant::now();
        let sent_at = waker.join().expect("waker thread");
        let latency = woke.saturating_duration_since(sent_at);
        println!("tokio_cancel: Remote::wake to a pending recv: ECANCELED after {:.3} ms", ms(latency));
        check(
            matches!(pending, Ok(Err(e)) if e == Errno(libc::ECANCELED)),
            "a wake-up from another thread ends a pending recv with ECANCELED",
        );
        check(latency < MULTI_THREAD_LIMIT, "promptly");
        let sender = send(AFTER);
        let mut got = 0;
        let deadline = Instant::now() + Duration::from_secs(10);
        while got < AFTER && Instant::now() < deadline {
            match tokio::time::timeout(Duration::from_secs(2), sub.recv()).await {
                Ok(Ok(pkt)) => got += usize::from(is_ours(&pkt)),
                Ok(Err(e)) => panic!("recv after the wake-ups: {e}"),
                Err(_) => break,
            }
        }
        tokio::task::spawn_blocking(move || sender.join()).await.expect("join").expect("sender");
        println!("tokio_cancel: after two wake-ups: {got} of {AFTER}");
        check(got == AFTER, "no sample lost, no stray ECANCELED after the wake-ups");
    });

    println!("tokio_cancel: {passed} passed, {failed} failed");
    std::process::exit(if failed == 0 { 0 } else { 1 });
}
