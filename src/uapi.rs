//! Protocol numbers from the kernel's `include/uapi/linux/psample.h` and `linux/genetlink.h`.
//!
//! Numbers follow the fixed order of `e43accba9b07` ("psample: Fix user API breakage"), which is what
//! every kernel since 5.12 (and the 5.10 stable backport) emits.

pub const FAMILY_NAME: &str = "psample";
pub const MCGRP_SAMPLE: &str = "packets";
pub const MCGRP_CONFIG: &str = "config";
pub const GENL_VERSION: u8 = 1;

/// `enum psample_command`: `PSAMPLE_CMD_<NAME>`.
#[allow(missing_docs)]
pub mod cmd {
    pub const SAMPLE: u8 = 0;
    pub const GET_GROUP: u8 = 1;
    pub const NEW_GROUP: u8 = 2;
    pub const DEL_GROUP: u8 = 3;
}

/// Attribute numbers of a sample, for [`Sample::has`](crate::Sample::has): `PSAMPLE_ATTR_<NAME>`
/// of the kernel's `linux/psample.h`.
#[allow(missing_docs)]
pub mod attr {
    pub const IIFINDEX: u16 = 0;
    pub const OIFINDEX: u16 = 1;
    pub const ORIGSIZE: u16 = 2;
    pub const SAMPLE_GROUP: u16 = 3;
    pub const GROUP_SEQ: u16 = 4;
    pub const SAMPLE_RATE: u16 = 5;
    pub const DATA: u16 = 6;
    pub const GROUP_REFCOUNT: u16 = 7;
    pub const TUNNEL: u16 = 8;
    pub const PAD: u16 = 9;
    pub const OUT_TC: u16 = 10;
    pub const OUT_TC_OCC: u16 = 11;
    pub const LATENCY: u16 = 12;
    pub const TIMESTAMP: u16 = 13;
    pub const PROTO: u16 = 14;
    pub const USER_COOKIE: u16 = 15;
    pub const SAMPLE_PROBABILITY: u16 = 16;
}

/// Attribute numbers of a tunnel key, for [`Tunnel::has`](crate::Tunnel::has):
/// `PSAMPLE_TUNNEL_KEY_ATTR_<NAME>` of the kernel's `linux/psample.h`.
#[allow(missing_docs)]
pub mod tunnel_attr {
    pub const ID: u16 = 0;
    pub const IPV4_SRC: u16 = 1;
    pub const IPV4_DST: u16 = 2;
    pub const TOS: u16 = 3;
    pub const TTL: u16 = 4;
    pub const DONT_FRAGMENT: u16 = 5;
    pub const CSUM: u16 = 6;
    pub const OAM: u16 = 7;
    pub const GENEVE_OPTS: u16 = 8;
    pub const TP_SRC: u16 = 9;
    pub const TP_DST: u16 = 10;
    pub const VXLAN_OPTS: u16 = 11;
    pub const IPV6_SRC: u16 = 12;
    pub const IPV6_DST: u16 = 13;
    pub const PAD: u16 = 14;
    pub const ERSPAN_OPTS: u16 = 15;
    pub const IPV4_INFO_BRIDGE: u16 = 16;
}

/// Generic netlink controller (`nlctrl`), used to notice the psample module going and coming.
#[allow(missing_docs)]
pub mod ctrl {
    pub const FAMILY_ID: u16 = 0x10; // GENL_ID_CTRL
    pub const NAME: &str = "nlctrl";
    pub const MCGRP_NOTIFY: &str = "notify";
    pub const CMD_NEWFAMILY: u8 = 1;
    pub const CMD_DELFAMILY: u8 = 2;
    pub const ATTR_FAMILY_ID: u16 = 1;
    pub const ATTR_FAMILY_NAME: u16 = 2;
}

/// Netlink socket options and `SO_MEMINFO` (`linux/netlink.h`, `asm-generic/socket.h`,
/// `linux/sock_diag.h`).
pub mod netlink {
    pub const SOL_NETLINK: i32 = 270;
    pub const NETLINK_ADD_MEMBERSHIP: i32 = 1;
    pub const NETLINK_NO_ENOBUFS: i32 = 5;
    pub const NETLINK_LISTEN_ALL_NSID: i32 = 8;
    pub const SO_MEMINFO: i32 = 55;
    pub const SK_MEMINFO_VARS: usize = 9;
    pub const SK_MEMINFO_DROPS: usize = 8;
}

pub const NLMSG_HDRLEN: usize = 16;
pub const GENL_HDRLEN: usize = 4;
/// Offset of the first attribute of a generic netlink message.
pub const ATTRS_OFFSET: usize = NLMSG_HDRLEN + GENL_HDRLEN;
/// The kernel caps the attributes of one sample at `PSAMPLE_MAX_PACKET_SIZE` (0xffff).
pub const MAX_PAYLOAD: usize = 0xffff;
/// The largest datagram psample can send: headers plus the capped payload, rounded up.
pub const MAX_MESSAGE: usize = ATTRS_OFFSET + MAX_PAYLOAD + 4;
