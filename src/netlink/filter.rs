//! A classic BPF socket filter that keeps only the samples (and group events) of chosen groups, so
//! other groups' samples never wake the reader nor use its receive buffer. Messages of other
//! netlink families (the controller's notifications) pass.

use crate::uapi::{attr, ATTRS_OFFSET};

const BPF_LD: u16 = 0x00;
const BPF_LDX: u16 = 0x01;
const BPF_JMP: u16 = 0x05;
const BPF_RET: u16 = 0x06;
const BPF_MISC: u16 = 0x07;
const BPF_W: u16 = 0x00;
const BPF_H: u16 = 0x08;
const BPF_IMM: u16 = 0x00;
const BPF_ABS: u16 = 0x20;
const BPF_IND: u16 = 0x40;
const BPF_JEQ: u16 = 0x10;
const BPF_K: u16 = 0x00;
const BPF_TAX: u16 = 0x00;
const SKF_AD_OFF: u32 = (-0x1000i32) as u32;
const SKF_AD_NLATTR: u32 = 12;

fn stmt(code: u16, k: u32) -> libc::sock_filter {
    libc::sock_filter { code, jt: 0, jf: 0, k }
}

fn jump(code: u16, k: u32, jt: u8, jf: u8) -> libc::sock_filter {
    libc::sock_filter { code, jt, jf, k }
}

/// cBPF loads are big-endian: compare against the value as the load will see it.
fn as_loaded_u16(v: u16) -> u32 {
    u32::from(u16::from_be_bytes(v.to_ne_bytes()))
}

fn as_loaded_u32(v: u32) -> u32 {
    u32::from_be_bytes(v.to_ne_bytes())
}

/// Builds the program. `groups` must be non-empty and at most
/// [`MAX_GROUPS`](crate::options::MAX_GROUPS) long. cBPF jump
/// offsets are 8 bits, so every comparison is followed by its own `ret ACCEPT`.
pub fn group_filter(family: u16, groups: &[u32]) -> Vec<libc::sock_filter> {
    const ACCEPT: u32 = 0xffff_ffff;
    const REJECT: u32 = 0;
    let mut p = Vec::with_capacity(11 + 2 * groups.len());
    // A = nlmsg_type: messages of other families (controller notifications) pass.
    p.push(stmt(BPF_LD | BPF_H | BPF_ABS, 4));
    p.push(jump(BPF_JMP | BPF_JEQ | BPF_K, as_loaded_u16(family), 1, 0));
    p.push(stmt(BPF_RET | BPF_K, ACCEPT));
    // A = offset of the SAMPLE_GROUP attribute (0 when absent): the kernel's nla_find from byte 20.
    p.push(stmt(BPF_LD | BPF_IMM, ATTRS_OFFSET as u32));
    p.push(stmt(BPF_LDX | BPF_IMM, u32::from(attr::SAMPLE_GROUP)));
    p.push(stmt(BPF_LD | BPF_W | BPF_ABS, SKF_AD_OFF.wrapping_add(SKF_AD_NLATTR)));
    // A record without a group cannot be filtered: let it through.
    p.push(jump(BPF_JMP | BPF_JEQ | BPF_K, 0, 0, 1));
    p.push(stmt(BPF_RET | BPF_K, ACCEPT));
    // A = the group number (payload starts 4 bytes into the attribute).
    p.push(stmt(BPF_MISC | BPF_TAX, 0));
    p.push(stmt(BPF_LD | BPF_W | BPF_IND, 4));
    for g in groups {
        p.push(jump(BPF_JMP | BPF_JEQ | BPF_K, as_loaded_u32(*g), 0, 1));
        p.push(stmt(BPF_RET | BPF_K, ACCEPT));
    }
    p.push(stmt(BPF_RET | BPF_K, REJECT));
    p
}
