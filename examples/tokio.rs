//! Prints psample samples from a tokio task until Ctrl-C, then the loss counters.
//!
//! `cargo run --features tokio --example tokio [GROUP...]` (as root, or with CAP_NET_ADMIN).

use std::time::Duration;

use psample::{AsyncSubscription, Options};

#[tokio::main(flavor = "current_thread")]
async fn main() -> std::io::Result<()> {
    let groups = std::env::args().skip(1).map(|g| g.parse::<u32>().expect("a group number")).collect::<Vec<_>>();
    let mut sub = AsyncSubscription::open(Options::default().groups(groups))?;
    let mut tick = tokio::time::interval(Duration::from_secs(10));
    loop {
        // recv() is cancel-safe: when another branch wins, no sample is lost.
        tokio::select! {
            pkt = sub.recv() => {
                let pkt = pkt?;
                let s = pkt.sample();
                println!("group {} seq {} rate 1/{} in {} {} of {} bytes", s.group, s.group_seq, s.one_in_n(),
                    s.iifindex, s.data.len(), s.orig_size);
            }
            _ = tick.tick() => eprintln!("{:?}", sub.stats()),
            _ = tokio::signal::ctrl_c() => break,
        }
    }
    let st = sub.stats();
    println!(
        "{} delivered, {} dropped by the kernel, {} missing by sequence",
        st.delivered, st.kernel_drops, st.seq_gaps
    );
    Ok(())
}
