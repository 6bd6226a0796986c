//! The control path through neli: resolving generic netlink families and multicast groups, and the
//! `PSAMPLE_CMD_GET_GROUP` dump. Runs on its own short-lived socket, never the sample socket, so
//! replies and acks never mix with the sample stream. No `NlRouter`: it would start a thread.

use neli::{
    consts::{
        genl::{CtrlAttr, CtrlAttrMcastGrp, CtrlCmd, Index},
        nl::{GenlId, NlType, NlmF, Nlmsg},
        socket::NlFamily,
    },
    err::SocketError,
    genl::{AttrTypeBuilder, Genlmsghdr, GenlmsghdrBuilder, NlattrBuilder},
    nl::{NlPayload, Nlmsghdr, NlmsghdrBuilder},
    socket::synchronous::NlSocketHandle,
    types::GenlBuffer,
    utils::Groups,
    FromBytesWithInput, Size, ToBytes,
};

use crate::error::{Errno, SysResult as Result};
use crate::uapi;

/// Ids the kernel gave psample when its module was loaded (they change on reload).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PsampleIds {
    pub family: u16,
    pub packets_group: u32,
    pub config_group: u32,
}

/// One entry of the `GET_GROUP` dump.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct GroupInfo {
    /// The group number (tc's `group`, OVS's `group`).
    pub group: u32,
    /// How many samplers use the group.
    pub refcount: u32,
    /// The sequence number the next sample of this group will carry.
    pub next_seq: u32,
}

fn socket_errno(e: SocketError) -> Errno {
    match e {
        SocketError::Io(io) => Errno(io.raw_os_error().unwrap_or(libc::EIO)),
        _ => Errno(libc::EPROTO),
    }
}

fn open_control_socket() -> Result<NlSocketHandle> {
    NlSocketHandle::connect(NlFamily::Generic, None, Groups::empty()).map_err(socket_errno)
}

/// Resolves a family's id and its multicast groups by name (`CTRL_CMD_GETFAMILY`).
pub fn get_family(name: &str) -> Result<(u16, Vec<(String, u32)>)> {
    let sock = open_control_socket()?;
    let name_attr = NlattrBuilder::default()
        .nla_type(AttrTypeBuilder::default().nla_type(CtrlAttr::FamilyName).build().map_err(|_| Errno(libc::EINVAL))?)
        .nla_payload(name)
        .build()
        .map_err(|_| Errno(libc::EINVAL))?;
    let genl = GenlmsghdrBuilder::<CtrlCmd, CtrlAttr>::default()
        .cmd(CtrlCmd::Getfamily)
        .version(2)
        .attrs(std::iter::once(name_attr).collect::<GenlBuffer<_, _>>())
        .build()
        .map_err(|_| Errno(libc::EINVAL))?;
    let req = NlmsghdrBuilder::default()
        .nl_type(GenlId::Ctrl)
        .nl_flags(NlmF::REQUEST | NlmF::ACK)
        .nl_seq(1)
        .nl_payload(NlPayload::Payload(genl))
        .build()
        .map_err(|_| Errno(libc::EINVAL))?;
    let mut found = None;
    transact(&sock, &req, |p| {
        found = Some(parse_family(p)?);
        Ok(())
    })?;
    found.ok_or(Errno(libc::EPROTO))
}

/// Sends `req` on `sock` and hands each reply payload to `each` until the kernel acks it or ends
/// the dump. Replies are matched by sequence number and port id; a netlink error becomes its errno.
fn transact<T, P>(sock: &NlSocketHandle, req: &Nlmsghdr<T, P>, mut each: impl FnMut(&P) -> Result<()>) -> Result<()>
where
    T: NlType,
    P: Size + ToBytes + FromBytesWithInput<Input = usize> + std::fmt::Debug,
{
    let errno = |code: i32| Errno(code.checked_abs().unwrap_or(libc::EPROTO));
    sock.send(req).map_err(socket_errno)?;
    let done: u16 = Nlmsg::Done.into();
    loop {
        let (msgs, _) = sock.recv::<T, P>().map_err(socket_errno)?;
        for msg in msgs {
            let msg: Nlmsghdr<T, P> = msg.map_err(socket_errno)?;
            if msg.nl_seq() != req.nl_seq() || *msg.nl_pid() != sock.pid() {
                continue; // not a reply to this request
            }
            match msg.nl_payload() {
                NlPayload::Err(e) => return Err(errno(*e.error())),
                NlPayload::DumpExtAck(e) if *e.error() != 0 => return Err(errno(*e.error())),
                NlPayload::Ack(_) | NlPayload::DumpExtAck(_) => return Ok(()),
                _ if (*msg.nl_type()).into() == done => return Ok(()),
                NlPayload::Payload(p) => each(p)?,
                NlPayload::Empty => {}
            }
        }
    }
}

fn parse_family(p: &Genlmsghdr<CtrlCmd, CtrlAttr>) -> Result<(u16, Vec<(String, u32)>)> {
    let attrs = p.attrs().get_attr_handle();
    let id = attrs.get_attr_payload_as::<u16>(CtrlAttr::FamilyId).map_err(|_| Errno(libc::EPROTO))?;
    let mut groups = Vec::new();
    if let Ok(list) = attrs.get_nested_attributes::<Index>(CtrlAttr::McastGroups) {
        for item in list.iter() {
            let Ok(grp) = item.get_attr_handle::<CtrlAttrMcastGrp>() else { continue };
            let name = grp.get_attr_payload_as_with_len::<String>(CtrlAttrMcastGrp::Name);
            let gid = grp.get_attr_payload_as::<u32>(CtrlAttrMcastGrp::Id);
            if let (Ok(name), Ok(gid)) = (name, gid) {
                groups.push((name, gid));
            }
        }
    }
    Ok((id, groups))
}

fn group_id(groups: &[(String, u32)], name: &str) -> Result<u32> {
    groups.iter().find(|(n, _)| n == name).map(|(_, id)| *id).ok_or(Errno(libc::ENOENT))
}

/// Resolves psample in the calling thread's network namespace. `ENOENT` when the module is absent.
pub fn resolve_psample() -> Result<PsampleIds> {
    let (family, groups) = get_family(uapi::FAMILY_NAME)?;
    Ok(PsampleIds {
        family,
        packets_group: group_id(&groups, uapi::MCGRP_SAMPLE)?,
        config_group: group_id(&groups, uapi::MCGRP_CONFIG)?,
    })
}

/// The `nlctrl` "notify" group, which announces families being registered and removed.
pub fn resolve_ctrl_notify() -> Result<u32> {
    let (_, groups) = get_family(uapi::ctrl::NAME)?;
    group_id(&groups, uapi::ctrl::MCGRP_NOTIFY)
}

/// Dumps psample's groups in the calling thread's network namespace, calling `each` per group.
pub fn list_groups(family: u16, mut each: impl FnMut(GroupInfo)) -> Result<()> {
    let sock = open_control_socket()?;
    let genl = GenlmsghdrBuilder::<u8, u16>::default()
        .cmd(uapi::cmd::GET_GROUP)
        .version(uapi::GENL_VERSION)
        .attrs(GenlBuffer::new())
        .build()
        .map_err(|_| Errno(libc::EINVAL))?;
    let req = NlmsghdrBuilder::default()
        .nl_type(family)
        .nl_flags(NlmF::REQUEST | NlmF::DUMP)
        .nl_seq(2)
        .nl_payload(NlPayload::Payload(genl))
        .build()
        .map_err(|_| Errno(libc::EINVAL))?;
    transact(&sock, &req, |p| {
        let attrs = p.attrs().get_attr_handle();
        let get = |a: u16| attrs.get_attr_payload_as::<u32>(a).unwrap_or(0);
        each(GroupInfo {
            group: get(uapi::attr::SAMPLE_GROUP),
            refcount: get(uapi::attr::GROUP_REFCOUNT),
            next_seq: get(uapi::attr::GROUP_SEQ),
        });
        Ok(())
    })
}
