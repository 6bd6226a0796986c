// Package psample receives Linux psample packet samples (tc act_sample, the OVS psample
// action, switch ASICs) through libpsample, the C library in include/psample.h.
//
// It is a thin cgo binding, found with pkg-config ("psample"). Recv copies every sample into
// Go memory, so a Packet stays valid after the next Recv and after Close: the C library's
// borrowed buffers never escape this package.
//
// A Sub is not safe for concurrent use, like the C handle it wraps: use one per goroutine.
package psample

/*
#cgo pkg-config: psample
#include <stdlib.h>
#include <psample.h>
*/
import "C"

import (
	"errors"
	"math"
	"net/netip"
	"syscall"
	"unsafe"
)

// Subscription flags for Options.Flags (PSAMPLE_SUB_*; psample.h documents each).
const (
	FlagNonblock        uint32 = C.PSAMPLE_SUB_NONBLOCK         // Recv returns EAGAIN instead of blocking
	FlagENOBUFS         uint32 = C.PSAMPLE_SUB_ENOBUFS          // report overruns as a one-time ENOBUFS
	FlagAllNetns        uint32 = C.PSAMPLE_SUB_ALL_NETNS        // also samples of namespaces with an id here
	FlagAcceptUserspace uint32 = C.PSAMPLE_SUB_ACCEPT_USERSPACE // also samples injected by processes
	FlagConfigEvents    uint32 = C.PSAMPLE_SUB_CONFIG_EVENTS    // also group created/deleted events
	FlagNoSamples       uint32 = C.PSAMPLE_SUB_NO_SAMPLES       // no samples (with FlagConfigEvents)
	FlagResubscribe     uint32 = C.PSAMPLE_SUB_RESUBSCRIBE      // follow an unload and reload of psample
	FlagNetnsFD         uint32 = C.PSAMPLE_SUB_NETNS_FD         // Options.NetnsFD is set
)

// Record kinds (Packet.Kind).
const (
	KindSample       uint32 = C.PSAMPLE_KIND_SAMPLE
	KindGroupCreated uint32 = C.PSAMPLE_KIND_GROUP_CREATED
	KindGroupDeleted uint32 = C.PSAMPLE_KIND_GROUP_DELETED
)

// Packet flags (Packet.Flags).
const (
	PacketTruncated uint32 = C.PSAMPLE_PKT_F_TRUNCATED // cut by a too-small buffer (never expected)
	PacketUserspace uint32 = C.PSAMPLE_PKT_F_USERSPACE // sent by a process, not the kernel
)

// Presence bits of Packet.Fields: bit N is set when PSAMPLE_ATTR N was present.
const (
	FieldIIfindex          uint64 = C.PSAMPLE_FIELD_IIFINDEX
	FieldOIfindex          uint64 = C.PSAMPLE_FIELD_OIFINDEX
	FieldOrigSize          uint64 = C.PSAMPLE_FIELD_ORIGSIZE
	FieldSampleGroup       uint64 = C.PSAMPLE_FIELD_SAMPLE_GROUP
	FieldGroupSeq          uint64 = C.PSAMPLE_FIELD_GROUP_SEQ
	FieldSampleRate        uint64 = C.PSAMPLE_FIELD_SAMPLE_RATE
	FieldData              uint64 = C.PSAMPLE_FIELD_DATA
	FieldGroupRefcount     uint64 = C.PSAMPLE_FIELD_GROUP_REFCOUNT
	FieldTunnel            uint64 = C.PSAMPLE_FIELD_TUNNEL
	FieldOutTC             uint64 = C.PSAMPLE_FIELD_OUT_TC
	FieldOutTCOcc          uint64 = C.PSAMPLE_FIELD_OUT_TC_OCC
	FieldLatency           uint64 = C.PSAMPLE_FIELD_LATENCY
	FieldTimestamp         uint64 = C.PSAMPLE_FIELD_TIMESTAMP
	FieldProto             uint64 = C.PSAMPLE_FIELD_PROTO
	FieldUserCookie        uint64 = C.PSAMPLE_FIELD_USER_COOKIE
	FieldSampleProbability uint64 = C.PSAMPLE_FIELD_SAMPLE_PROBABILITY
)

// Presence bits of Tunnel.Fields (PSAMPLE_TUNNEL_FIELD_*). For the don't-fragment, checksum,
// OAM and bridge flags the bit is the whole value.
const (
	TunnelID             uint32 = C.PSAMPLE_TUNNEL_FIELD_ID
	TunnelIPv4Src        uint32 = C.PSAMPLE_TUNNEL_FIELD_IPV4_SRC
	TunnelIPv4Dst        uint32 = C.PSAMPLE_TUNNEL_FIELD_IPV4_DST
	TunnelTOS            uint32 = C.PSAMPLE_TUNNEL_FIELD_TOS
	TunnelTTL            uint32 = C.PSAMPLE_TUNNEL_FIELD_TTL
	TunnelDontFragment   uint32 = C.PSAMPLE_TUNNEL_FIELD_DONT_FRAGMENT
	TunnelCsum           uint32 = C.PSAMPLE_TUNNEL_FIELD_CSUM
	TunnelOAM            uint32 = C.PSAMPLE_TUNNEL_FIELD_OAM
	TunnelGeneveOpts     uint32 = C.PSAMPLE_TUNNEL_FIELD_GENEVE_OPTS
	TunnelTPSrc          uint32 = C.PSAMPLE_TUNNEL_FIELD_TP_SRC
	TunnelTPDst          uint32 = C.PSAMPLE_TUNNEL_FIELD_TP_DST
	TunnelVxlanOpts      uint32 = C.PSAMPLE_TUNNEL_FIELD_VXLAN_OPTS
	TunnelIPv6Src        uint32 = C.PSAMPLE_TUNNEL_FIELD_IPV6_SRC
	TunnelIPv6Dst        uint32 = C.PSAMPLE_TUNNEL_FIELD_IPV6_DST
	TunnelErspanOpts     uint32 = C.PSAMPLE_TUNNEL_FIELD_ERSPAN_OPTS
	TunnelIPv4InfoBridge uint32 = C.PSAMPLE_TUNNEL_FIELD_IPV4_INFO_BRIDGE
)

// Limits of Options.
const (
	MaxGroups = C.PSAMPLE_MAX_GROUPS
	MaxRcvbuf = C.PSAMPLE_MAX_RCVBUF
	MaxBatch  = C.PSAMPLE_MAX_BATCH
)

// Options of Subscribe and ListGroups. The zero value (or a nil *Options) means: blocking,
// every group, this network namespace, kernel senders only, a 32 MiB receive buffer.
type Options struct {
	Flags  uint32   // Flag* bits
	Rcvbuf uint32   // receive buffer to ask for, bytes (the kernel doubles it); 0: 32 MiB
	Groups []uint32 // deliver only these groups, filtered in the kernel; empty: all groups
	// A network namespace file (/run/netns/NAME, /proc/PID/ns/net) to subscribe in. Read only
	// with FlagNetnsFD, since 0 is a valid descriptor. Not closed by the library.
	NetnsFD int
	Batch   uint32 // datagrams per system call, and the most packets one Recv returns; 0: 16
}

// Packet is one received record: a sample, or with FlagConfigEvents a group event (Kind).
// A value is meaningful only when its Field* bit is set in Fields; absent values are zero.
// Data, UserCookie and the tunnel options are copies owned by the Packet.
type Packet struct {
	Fields        uint64 // Field* presence bits
	Kind          uint32 // Kind*
	Flags         uint32 // Packet* flags
	Group         uint32 // psample group
	GroupSeq      uint32 // per-group sequence number
	Rate          uint32 // 1-in-N, or a probability with FieldSampleProbability: see EffectiveRate
	OrigSize      uint32 // length of the packet before truncation
	InIfindex     uint32 // input interface index (iifindex)
	OutIfindex    uint32 // output interface index (oifindex)
	GroupRefcount uint32 // group events: the group's reference count
	SenderPortID  uint32 // netlink port id of the sender: 0 for the kernel
	NSID          int32  // namespace id of the source (FlagAllNetns); -1: the subscriber's own
	OutTC         uint16 // egress traffic class (hardware)
	Proto         uint16 // L3 ethertype of Data from the kernel (0x0800, 0x86dd)
	TimestampNs   uint64 // CLOCK_REALTIME when the kernel took the sample, ns
	LatencyNs     uint64 // end-to-end latency (hardware), ns
	OutTCOcc      uint64 // egress queue occupancy (hardware), bytes
	Data          []byte // the packet from its first byte, cut to the sampler's truncation size; nil if absent
	UserCookie    []byte // tc action cookie or OVS observation ids; nil if absent
	Tunnel        *Tunnel
}

// Tunnel is the tunnel key of a sample taken after decapsulation (nil in Packet when absent).
type Tunnel struct {
	Fields     uint32     // Tunnel* presence bits
	ID         uint64     // VNI or key
	IPv4Src    netip.Addr // outer addresses: the zero Addr when absent
	IPv4Dst    netip.Addr
	IPv6Src    netip.Addr
	IPv6Dst    netip.Addr
	TPSrc      uint16 // outer transport ports
	TPDst      uint16
	TOS        uint8
	TTL        uint8
	GeneveOpts []byte // struct geneve_opt array as sent; nil if absent
	ErspanOpts []byte // struct erspan_metadata; nil if absent
}

// Stats is the loss accounting of a Sub (struct psample_stats).
type Stats struct {
	Delivered         uint64 // samples returned by Recv
	KernelDrops       uint64 // samples dropped because the receive buffer was full (exact)
	SeqGaps           uint64 // samples missing from the per-(namespace, group) sequence numbers
	Truncated         uint64 // datagrams cut by a too-small buffer (never expected)
	DecodeErrors      uint64 // messages that failed to decode and were skipped
	ENOBUFS           uint64 // ENOBUFS reports (FlagENOBUFS)
	RejectedUserspace uint64 // samples from processes rejected by the sender policy
	ConfigEvents      uint64 // group events returned by Recv
	FamilyRemoved     uint64 // times the psample family went away
	Resubscribed      uint64 // times the Sub followed a reload (FlagResubscribe)
	Rcvbuf            uint32 // receive buffer in force, bytes
	GroupsTracked     uint32 // (namespace, group) pairs whose sequence numbers are followed
}

// GroupInfo is one psample group from ListGroups.
type GroupInfo struct {
	Group    uint32
	Refcount uint32 // users in the kernel (tc actions)
	NextSeq  uint32 // sequence number of the group's next sample
}

// Error is a failure reported by libpsample. Error() carries psample_strerror's explanation;
// Unwrap gives the syscall.Errno, so errors.Is(err, syscall.ENOENT) (and fs.ErrNotExist) work.
type Error struct {
	Op    string // "subscribe", "recv", "stats", "list groups", "decode"
	Errno syscall.Errno
}

func (e *Error) Error() string {
	return "psample " + e.Op + ": " + C.GoString(C.psample_strerror(C.int(e.Errno)))
}

func (e *Error) Unwrap() error { return e.Errno }

func fail(op string, rc C.int) error { return &Error{Op: op, Errno: syscall.Errno(-rc)} }

// ErrClosed is returned by the methods of a Sub after Close.
var ErrClosed = errors.New("psample: subscription is closed")

// Version is the library's version, "MAJOR.MINOR.PATCH".
func Version() string { return C.GoString(C.psample_version()) }

// toC converts o. The group list goes to C memory because cgo forbids handing C a Go pointer
// stored inside Go memory; the caller frees it with C.free after the call (the library copies
// the list).
func (o *Options) toC(op string) (c C.struct_psample_opts, groups unsafe.Pointer, err error) {
	c.size = C.sizeof_struct_psample_opts
	if o == nil {
		return c, nil, nil
	}
	if len(o.Groups) > MaxGroups {
		return c, nil, &Error{Op: op, Errno: syscall.EINVAL}
	}
	if o.Flags&FlagNetnsFD != 0 && (o.NetnsFD < 0 || o.NetnsFD > math.MaxInt32) {
		return c, nil, &Error{Op: op, Errno: syscall.EBADF}
	}
	c.flags = C.uint32_t(o.Flags)
	c.rcvbuf = C.uint32_t(o.Rcvbuf)
	c.netns_fd = C.int32_t(o.NetnsFD)
	c.batch = C.uint32_t(o.Batch)
	if n := len(o.Groups); n > 0 {
		groups = C.malloc(C.size_t(n) * C.sizeof_uint32_t)
		copy(unsafe.Slice((*uint32)(groups), n), o.Groups)
		c.groups = (*C.uint32_t)(groups)
		c.n_groups = C.uint32_t(n)
	}
	return c, groups, nil
}

// Sub is a subscription: one netlink socket and the library's receive buffers.
type Sub struct {
	h     *C.struct_psample_sub
	batch int
	buf   []C.struct_psample_packet // Go memory; C writes only C pointers into it
}

// Subscribe opens a subscription. Without psample in the kernel the error wraps
// syscall.ENOENT; without CAP_NET_ADMIN, syscall.EPERM; for bad options, syscall.EINVAL.
func Subscribe(opts *Options) (*Sub, error) {
	c, groups, err := opts.toC("subscribe")
	if err != nil {
		return nil, err
	}
	defer C.free(groups)
	var h *C.struct_psample_sub
	if rc := C.psample_subscribe(&h, &c); rc < 0 {
		return nil, fail("subscribe", rc)
	}
	batch := 16 // the library's default
	if opts != nil && opts.Batch > 0 {
		batch = int(opts.Batch)
	}
	return &Sub{h: h, batch: batch}, nil
}

// Recv fills pkts with received records and returns how many (at least 1, at most len(pkts)
// and the batch size). It blocks until one is queued, unless the Sub was opened with
// FlagNonblock (then the error wraps syscall.EAGAIN: poll Fd for readability). A signal
// interrupting the wait is retried, as the os package does.
func (s *Sub) Recv(pkts []Packet) (int, error) {
	if s.h == nil {
		return 0, ErrClosed
	}
	n := len(pkts)
	if n > s.batch {
		n = s.batch // the library returns no more per call
	}
	if n == 0 {
		return 0, nil
	}
	if len(s.buf) < n {
		s.buf = make([]C.struct_psample_packet, n)
	}
	rc := C.psample_recv(s.h, &s.buf[0], C.size_t(n), C.sizeof_struct_psample_packet)
	for rc == -C.int(syscall.EINTR) {
		rc = C.psample_recv(s.h, &s.buf[0], C.size_t(n), C.sizeof_struct_psample_packet)
	}
	if rc < 0 {
		return 0, fail("recv", rc)
	}
	for i := 0; i < int(rc); i++ {
		pkts[i] = packetFromC(&s.buf[i])
	}
	return int(rc), nil
}

// Fd is the subscription's socket, for poll/epoll (readable when a record is queued). Owned by
// the Sub: do not close it or read from it. -1 after Close.
func (s *Sub) Fd() int {
	if s.h == nil {
		return -1
	}
	return int(C.psample_fd(s.h))
}

// Stats returns the subscription's loss accounting.
func (s *Sub) Stats() (Stats, error) {
	if s.h == nil {
		return Stats{}, ErrClosed
	}
	var c C.struct_psample_stats
	if rc := C.psample_stats(s.h, &c, C.sizeof_struct_psample_stats); rc < 0 {
		return Stats{}, fail("stats", rc)
	}
	return Stats{
		Delivered:         uint64(c.delivered),
		KernelDrops:       uint64(c.kernel_drops),
		SeqGaps:           uint64(c.seq_gaps),
		Truncated:         uint64(c.truncated),
		DecodeErrors:      uint64(c.decode_errors),
		ENOBUFS:           uint64(c.enobufs),
		RejectedUserspace: uint64(c.rejected_userspace),
		ConfigEvents:      uint64(c.config_events),
		FamilyRemoved:     uint64(c.family_removed),
		Resubscribed:      uint64(c.resubscribed),
		Rcvbuf:            uint32(c.rcvbuf),
		GroupsTracked:     uint32(c.groups_tracked),
	}, nil
}

// Close closes the subscription. Packets already received stay valid (they are copies).
// Closing twice is a no-op.
func (s *Sub) Close() error {
	if s.h != nil {
		C.psample_close(s.h)
		s.h, s.buf = nil, nil
	}
	return nil
}

// ListGroups lists psample's groups in this network namespace, or in opts.NetnsFD's with
// FlagNetnsFD (other options are ignored; opts may be nil). Needs no privilege.
func ListGroups(opts *Options) ([]GroupInfo, error) {
	c, groups, err := opts.toC("list groups")
	if err != nil {
		return nil, err
	}
	defer C.free(groups)
	buf := make([]C.struct_psample_group_info, 16)
	for {
		var total C.size_t
		rc := C.psample_list_groups(&c, &buf[0], C.size_t(len(buf)), C.sizeof_struct_psample_group_info, &total)
		if rc < 0 {
			return nil, fail("list groups", rc)
		}
		if int(total) > len(buf) { // more than fit: ask again, with room for groups created meanwhile
			buf = make([]C.struct_psample_group_info, int(total)+16)
			continue
		}
		out := make([]GroupInfo, int(rc))
		for i := range out {
			out[i] = GroupInfo{Group: uint32(buf[i].group), Refcount: uint32(buf[i].refcount), NextSeq: uint32(buf[i].next_seq)}
		}
		return out, nil
	}
}

// Decode decodes one psample netlink message (nlmsghdr onwards, e.g. captured with nlmon).
// Errors wrap syscall.EBADMSG for a malformed message and syscall.ENOMSG for a netlink message
// that is not a psample sample or group event.
func Decode(msg []byte) (Packet, error) {
	if len(msg) == 0 {
		return Packet{}, &Error{Op: "decode", Errno: syscall.EBADMSG}
	}
	// Decoded pointers point into the message: a C copy keeps Go pointers out of the C struct.
	cmsg := C.CBytes(msg)
	defer C.free(cmsg)
	var c C.struct_psample_packet
	if rc := C.psample_decode(cmsg, C.size_t(len(msg)), &c, C.sizeof_struct_psample_packet); rc < 0 {
		return Packet{}, fail("decode", rc)
	}
	return packetFromC(&c), nil
}

// EffectiveRate is the sampling rate as "1 in N", whether the producer sent N or a
// probability (FieldSampleProbability, as OVS does); 0 for a zero probability.
func (p Packet) EffectiveRate() uint32 {
	c := C.struct_psample_packet{fields: C.uint64_t(p.Fields), rate: C.uint32_t(p.Rate)}
	return uint32(C.psample_effective_rate(&c))
}

// goBytes copies n bytes at p; nil for a NULL pointer (an absent value).
func goBytes(p *C.uint8_t, n C.uint32_t) []byte {
	if p == nil {
		return nil
	}
	return C.GoBytes(unsafe.Pointer(p), C.int(n))
}

func packetFromC(c *C.struct_psample_packet) Packet {
	p := Packet{
		Fields:        uint64(c.fields),
		Kind:          uint32(c.kind),
		Flags:         uint32(c.flags),
		Group:         uint32(c.group),
		GroupSeq:      uint32(c.group_seq),
		Rate:          uint32(c.rate),
		OrigSize:      uint32(c.orig_size),
		InIfindex:     uint32(c.iifindex),
		OutIfindex:    uint32(c.oifindex),
		GroupRefcount: uint32(c.group_refcount),
		SenderPortID:  uint32(c.sender_portid),
		NSID:          int32(c.nsid),
		OutTC:         uint16(c.out_tc),
		Proto:         uint16(c.proto),
		TimestampNs:   uint64(c.timestamp_ns),
		LatencyNs:     uint64(c.latency_ns),
		OutTCOcc:      uint64(c.out_tc_occ),
		Data:          goBytes(c.data, c.data_len),
		UserCookie:    goBytes(c.user_cookie, c.user_cookie_len),
	}
	if p.Fields&FieldTunnel != 0 {
		p.Tunnel = tunnelFromC(&c.tunnel)
	}
	return p
}

func tunnelFromC(c *C.struct_psample_tunnel) *Tunnel {
	t := &Tunnel{
		Fields:     uint32(c.fields),
		ID:         uint64(c.id),
		TPSrc:      uint16(c.tp_src),
		TPDst:      uint16(c.tp_dst),
		TOS:        uint8(c.tos),
		TTL:        uint8(c.ttl),
		GeneveOpts: goBytes(c.geneve_opts, c.geneve_opts_len),
		ErspanOpts: goBytes(c.erspan_opts, c.erspan_opts_len),
	}
	// Addresses are in network order, as netip wants them; set only when present.
	if t.Fields&TunnelIPv4Src != 0 {
		t.IPv4Src = netip.AddrFrom4(*(*[4]byte)(unsafe.Pointer(&c.ipv4_src)))
	}
	if t.Fields&TunnelIPv4Dst != 0 {
		t.IPv4Dst = netip.AddrFrom4(*(*[4]byte)(unsafe.Pointer(&c.ipv4_dst)))
	}
	if t.Fields&TunnelIPv6Src != 0 {
		t.IPv6Src = netip.AddrFrom16(*(*[16]byte)(unsafe.Pointer(&c.ipv6_src)))
	}
	if t.Fields&TunnelIPv6Dst != 0 {
		t.IPv6Dst = netip.AddrFrom16(*(*[16]byte)(unsafe.Pointer(&c.ipv6_dst)))
	}
	return t
}
