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
	"syscall"
	"unsafe"
)

// The Flag*, Kind*, Packet*, Field*, Tunnel* and Max* constants, and the Packet, Tunnel, Stats
// and GroupInfo records with their conversions, are generated from psample.h by bindings/gen.py
// into abi_generated.go.

// Options of Subscribe and ListGroups. The zero value (or a nil *Options) means: blocking,
// every group, this network namespace, kernel senders only, the library's default receive
// buffer and batch.
type Options struct {
	Flags  uint32   // Flag* bits
	Rcvbuf uint32   // receive buffer to ask for, bytes (the kernel doubles it); 0: the library's default
	Groups []uint32 // deliver only these groups, filtered in the kernel; empty: all groups
	// A network namespace file (/run/netns/NAME, /proc/PID/ns/net) to subscribe in. Read only
	// with FlagNetnsFD, since 0 is a valid descriptor. Not closed by the library.
	NetnsFD int
	Batch   uint32 // datagrams per system call, and the most packets one Recv returns; 0: the library's default
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
	// Only what C's narrower types cannot carry is refused here; the library checks the rest.
	if uint64(len(o.Groups)) > math.MaxUint32 {
		return c, nil, &Error{Op: op, Errno: syscall.EINVAL}
	}
	if o.Flags&FlagNetnsFD != 0 && (o.NetnsFD < math.MinInt32 || o.NetnsFD > math.MaxInt32) {
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
	h   *C.struct_psample_sub
	buf []C.struct_psample_packet // Go memory; C writes only C pointers into it
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
	return &Sub{h: h}, nil
}

// Recv fills pkts with received records and returns how many (at least 1, at most len(pkts)
// and the batch size). It blocks until one is queued, unless the Sub was opened with
// FlagNonblock (then the error wraps syscall.EAGAIN: poll Fd for readability). A signal
// interrupting the wait is retried, as the os package does.
func (s *Sub) Recv(pkts []Packet) (int, error) {
	if s.h == nil {
		return 0, ErrClosed
	}
	// The library returns at most its batch size per call, whatever room it is given.
	n := len(pkts)
	if n > MaxBatch {
		n = MaxBatch
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
	return statsFromC(&c), nil
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
			out[i] = groupInfoFromC(&buf[i])
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
