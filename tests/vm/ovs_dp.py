#!/usr/bin/env python3
"""Drives an Open vSwitch kernel datapath over its generic netlink families (ovs_datapath, ovs_vport,
ovs_flow), with the standard library only: no OVS daemon. Run inside the VM, in the test's network
namespace (ovs-tests.sh). Message layouts: include/uapi/linux/openvswitch.h (6.12).

    ovs_dp.py add-dp NAME                         datapath NAME (its local port is a netdev NAME)
    ovs_dp.py add-port DP DEV PORT_NO             attach netdev DEV as port PORT_NO
    ovs_dp.py add-flow DP --in-port N --out-port M [--psample GROUP COOKIE_HEX] [--probability P]
        one flow: Ethernet frames of EtherType 0x88b5 entering port N. Actions, in order:
          --psample without --probability: psample(GROUP, COOKIE), output(M)
          --psample with --probability P:  sample(P, [psample(GROUP, COOKIE)]), output(M)
          no --psample:                    output(M)
        Exit 0 when the kernel accepted it; 3 and "refused: errno N (NAME)" when it refused it.
    ovs_dp.py del-flows DP                        prints the counters (as stats), deletes every flow
    ovs_dp.py stats DP                            "hit H missed M lost L flows F"
    ovs_dp.py del-dp DP
"""
import errno
import socket
import struct
import sys

NETLINK_GENERIC = 16
NLM_F_REQUEST, NLM_F_ACK, NLM_F_EXCL, NLM_F_CREATE = 0x1, 0x4, 0x200, 0x400
NLMSG_ERROR = 2
NLA_F_NESTED = 0x8000
GENL_ID_CTRL, CTRL_CMD_GETFAMILY, CTRL_ATTR_FAMILY_ID, CTRL_ATTR_FAMILY_NAME = 0x10, 3, 1, 2

# ovs_datapath
OVS_DP_CMD_NEW, OVS_DP_CMD_DEL, OVS_DP_CMD_GET = 1, 2, 3
OVS_DP_ATTR_NAME, OVS_DP_ATTR_UPCALL_PID, OVS_DP_ATTR_STATS = 1, 2, 3
# ovs_vport
OVS_VPORT_CMD_NEW = 1
OVS_VPORT_ATTR_PORT_NO, OVS_VPORT_ATTR_TYPE, OVS_VPORT_ATTR_NAME, OVS_VPORT_ATTR_UPCALL_PID = 1, 2, 3, 5
OVS_VPORT_TYPE_NETDEV = 1
# ovs_flow
OVS_FLOW_CMD_NEW, OVS_FLOW_CMD_DEL = 1, 2
OVS_FLOW_ATTR_KEY, OVS_FLOW_ATTR_ACTIONS, OVS_FLOW_ATTR_MASK = 1, 2, 7
OVS_KEY_ATTR_IN_PORT, OVS_KEY_ATTR_ETHERNET, OVS_KEY_ATTR_ETHERTYPE = 3, 4, 6
OVS_ACTION_ATTR_OUTPUT, OVS_ACTION_ATTR_SAMPLE, OVS_ACTION_ATTR_PSAMPLE = 1, 6, 25
OVS_SAMPLE_ATTR_PROBABILITY, OVS_SAMPLE_ATTR_ACTIONS = 1, 2
OVS_PSAMPLE_ATTR_GROUP, OVS_PSAMPLE_ATTR_COOKIE = 1, 2

# The test frames' EtherType: IEEE 802 "local experimental" (no stack on the ports answers it).
TEST_ETHERTYPE = 0x88B5
# Bound on every wait for the kernel's answer.
RECV_TIMEOUT_S = 5


def attr(kind, payload):
    """One netlink attribute, padded to 4 bytes."""
    head = struct.pack("=HH", 4 + len(payload), kind)
    return head + payload + b"\0" * (-len(payload) % 4)


def nested(kind, *attrs):
    return attr(kind | NLA_F_NESTED, b"".join(attrs))


def u32(kind, value):
    return attr(kind, struct.pack("=I", value))


def parse_attrs(data):
    out, off = {}, 0
    while off + 4 <= len(data):
        length, kind = struct.unpack_from("=HH", data, off)
        if length < 4:
            break
        out[kind & ~NLA_F_NESTED] = data[off + 4 : off + length]
        off += (length + 3) & ~3
    return out


class GenlError(Exception):
    def __init__(self, err):
        super().__init__(f"errno {err} ({errno.errorcode.get(err, '?')})")
        self.errno = err


class Genl:
    def __init__(self):
        self.sock = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, NETLINK_GENERIC)
        self.sock.settimeout(RECV_TIMEOUT_S)
        self.sock.bind((0, 0))
        self.seq = 0

    def request(self, family, cmd, version, payload, flags=0):
        """Sends one request with NLM_F_ACK; returns the attribute bytes of the reply, if any."""
        self.seq += 1
        body = struct.pack("=BBH", cmd, version, 0) + payload
        msg = struct.pack("=IHHII", 16 + len(body), family, NLM_F_REQUEST | NLM_F_ACK | flags, self.seq, 0)
        self.sock.send(msg + body)
        reply = None
        while True:
            data = self.sock.recv(65536)
            off = 0
            while off + 16 <= len(data):
                length, kind, _, seq, _ = struct.unpack_from("=IHHII", data, off)
                if seq == self.seq:
                    if kind == NLMSG_ERROR:
                        (err,) = struct.unpack_from("=i", data, off + 16)
                        if err:
                            raise GenlError(-err)
                        return reply
                    reply = data[off + 16 : off + length]
                off += (length + 3) & ~3

    def family(self, name):
        reply = self.request(
            GENL_ID_CTRL, CTRL_CMD_GETFAMILY, 1, attr(CTRL_ATTR_FAMILY_NAME, name.encode() + b"\0")
        )
        (fid,) = struct.unpack_from("=H", parse_attrs(reply[4:])[CTRL_ATTR_FAMILY_ID])
        return fid


def ovs_header(dp_ifindex):
    return struct.pack("=i", dp_ifindex)


def flow_key(in_port, mask=False):
    # The mask: in_port and EtherType exact (the kernel forces both anyway), addresses wildcarded.
    ethernet = b"\0" * 12 if mask else bytes.fromhex("020000000001" "020000000002")
    return (
        u32(OVS_KEY_ATTR_IN_PORT, 0xFFFFFFFF if mask else in_port)
        + attr(OVS_KEY_ATTR_ETHERNET, ethernet)
        + attr(OVS_KEY_ATTR_ETHERTYPE, struct.pack("!H", 0xFFFF if mask else TEST_ETHERTYPE))
    )


def flow_actions(out_port, psample, probability):
    actions = b""
    if psample is not None:
        group, cookie = psample
        act = nested(
            OVS_ACTION_ATTR_PSAMPLE, u32(OVS_PSAMPLE_ATTR_GROUP, group), attr(OVS_PSAMPLE_ATTR_COOKIE, cookie)
        )
        if probability is not None:
            act = nested(
                OVS_ACTION_ATTR_SAMPLE,
                u32(OVS_SAMPLE_ATTR_PROBABILITY, probability),
                nested(OVS_SAMPLE_ATTR_ACTIONS, act),
            )
        actions += act
    return actions + u32(OVS_ACTION_ATTR_OUTPUT, out_port)


def main(argv):
    nl = Genl()
    cmd = argv[0]
    if cmd == "add-dp":
        name = argv[1]
        nl.request(
            nl.family("ovs_datapath"),
            OVS_DP_CMD_NEW,
            2,
            ovs_header(0) + attr(OVS_DP_ATTR_NAME, name.encode() + b"\0") + u32(OVS_DP_ATTR_UPCALL_PID, 0),
            NLM_F_CREATE | NLM_F_EXCL,
        )
        return 0
    dp = socket.if_nametoindex(argv[1])
    if cmd == "add-port":
        dev, port_no = argv[2], int(argv[3])
        nl.request(
            nl.family("ovs_vport"),
            OVS_VPORT_CMD_NEW,
            1,
            ovs_header(dp)
            + attr(OVS_VPORT_ATTR_NAME, dev.encode() + b"\0")
            + u32(OVS_VPORT_ATTR_TYPE, OVS_VPORT_TYPE_NETDEV)
            + u32(OVS_VPORT_ATTR_PORT_NO, port_no)
            + u32(OVS_VPORT_ATTR_UPCALL_PID, 0),
            NLM_F_CREATE | NLM_F_EXCL,
        )
    elif cmd == "add-flow":
        opts, rest = {}, argv[2:]
        while rest:
            key = rest.pop(0)
            if key == "--psample":
                opts["psample"] = (int(rest.pop(0), 0), bytes.fromhex(rest.pop(0)))
            elif key in ("--in-port", "--out-port", "--probability"):
                opts[key] = int(rest.pop(0), 0)
            else:
                raise SystemExit(f"ovs_dp.py: unknown option {key}")
        payload = (
            ovs_header(dp)
            + nested(OVS_FLOW_ATTR_KEY, flow_key(opts["--in-port"]))
            + nested(OVS_FLOW_ATTR_MASK, flow_key(opts["--in-port"], mask=True))
            + nested(
                OVS_FLOW_ATTR_ACTIONS,
                flow_actions(opts["--out-port"], opts.get("psample"), opts.get("--probability")),
            )
        )
        try:
            nl.request(nl.family("ovs_flow"), OVS_FLOW_CMD_NEW, 1, payload, NLM_F_CREATE | NLM_F_EXCL)
        except GenlError as e:
            print(f"ovs_dp.py: flow refused: {e}")
            return 3
        print("ovs_dp.py: flow accepted")
    elif cmd in ("stats", "del-flows"):
        reply = nl.request(nl.family("ovs_datapath"), OVS_DP_CMD_GET, 2, ovs_header(dp))
        hit, missed, lost, flows = struct.unpack_from("=QQQQ", parse_attrs(reply[8:])[OVS_DP_ATTR_STATS])
        print(f"ovs_dp.py: datapath {argv[1]}: hit {hit} missed {missed} lost {lost} flows {flows}")
        if cmd == "del-flows":
            nl.request(nl.family("ovs_flow"), OVS_FLOW_CMD_DEL, 1, ovs_header(dp))
    elif cmd == "del-dp":
        nl.request(nl.family("ovs_datapath"), OVS_DP_CMD_DEL, 2, ovs_header(dp))
    else:
        raise SystemExit(__doc__)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]) if len(sys.argv) > 1 else __doc__)
