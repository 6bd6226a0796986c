//! Test tool: sends one forged VPP-style psample sample (4-byte ifindexes, PROTO 1) into the
//! "packets" multicast group of the current network namespace, as a userspace producer would.
//! Needs CAP_NET_ADMIN. Used by the VM tests to check the sender policy.

use std::process::ExitCode;

use psample::__private::{cmd, resolve_psample};
use psample::attr;

fn push_attr(msg: &mut Vec<u8>, ty: u16, payload: &[u8]) {
    msg.extend_from_slice(&((4 + payload.len()) as u16).to_ne_bytes());
    msg.extend_from_slice(&ty.to_ne_bytes());
    msg.extend_from_slice(payload);
    msg.resize((msg.len() + 3) & !3, 0);
}

fn main() -> ExitCode {
    let ids = match resolve_psample() {
        Ok(ids) => ids,
        Err(e) => {
            eprintln!("inject: {e}");
            return ExitCode::FAILURE;
        }
    };
    if ids.packets_group == 0 || ids.packets_group > 32 {
        // sendto() addresses groups only through the 32-bit nl_groups mask.
        eprintln!("inject: packets group id {} cannot be addressed by sendto", ids.packets_group);
        return ExitCode::from(3);
    }
    let mut msg = vec![0u8; 16];
    msg.extend_from_slice(&[cmd::SAMPLE, 1, 0, 0]);
    push_attr(&mut msg, attr::SAMPLE_GROUP, &7u32.to_ne_bytes());
    push_attr(&mut msg, attr::IIFINDEX, &5u32.to_ne_bytes());
    push_attr(&mut msg, attr::OIFINDEX, &6u32.to_ne_bytes());
    push_attr(&mut msg, attr::ORIGSIZE, &100u32.to_ne_bytes());
    push_attr(&mut msg, attr::GROUP_SEQ, &1u32.to_ne_bytes());
    push_attr(&mut msg, attr::SAMPLE_RATE, &10u32.to_ne_bytes());
    push_attr(&mut msg, attr::PROTO, &1u16.to_ne_bytes());
    push_attr(&mut msg, attr::DATA, b"forged-sample!");
    let len = msg.len() as u32;
    msg[0..4].copy_from_slice(&len.to_ne_bytes());
    msg[4..6].copy_from_slice(&ids.family.to_ne_bytes());

    // SAFETY: plain socket(2) call with constant arguments.
    let fd = unsafe { libc::socket(libc::AF_NETLINK, libc::SOCK_RAW | libc::SOCK_CLOEXEC, libc::NETLINK_GENERIC) };
    if fd < 0 {
        eprintln!("inject: socket: {}", std::io::Error::last_os_error());
        return ExitCode::FAILURE;
    }
    // SAFETY: sockaddr_nl is plain data; all-zero is valid.
    let mut to: libc::sockaddr_nl = unsafe { std::mem::zeroed() };
    to.nl_family = libc::AF_NETLINK as u16;
    to.nl_groups = 1 << (ids.packets_group - 1);
    // SAFETY: `msg` and `to` are live for the call and their exact sizes are passed.
    let rc = unsafe {
        libc::sendto(
            fd,
            msg.as_ptr().cast(),
            msg.len(),
            0,
            (&to as *const libc::sockaddr_nl).cast(),
            std::mem::size_of::<libc::sockaddr_nl>() as u32,
        )
    };
    let err = std::io::Error::last_os_error();
    // SAFETY: closing the descriptor opened above, once.
    unsafe { libc::close(fd) };
    if rc < 0 {
        eprintln!("inject: sendto: {err}");
        return ExitCode::FAILURE;
    }
    println!("inject: sent one forged sample to group id {}", ids.packets_group);
    ExitCode::SUCCESS
}
