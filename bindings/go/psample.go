// Package psample receives Linux psample packet samples (tc act_sample, the OVS psample
// action, switch ASICs) through libpsample, the C library in include/psample.h.
//
// It is a thin cgo binding, found with pkg-config ("psample"). Receiving waits in Go's
// network poller, like a net.Conn: no OS thread is blocked in C while a Recv waits, a context
// or a read deadline ends the wait, Wakeup ends it with ErrWakeup, and Close from any goroutine
// ends it with ErrClosed (errors.Is(err, net.ErrClosed)).
//
// Recv copies every sample into Go memory, so a Packet stays valid after the next Recv and
// after Close: the C library's borrowed buffers never escape this package. The copies of one
// Recv share one allocation.
//
// The methods of a Sub may be called from any goroutine. Concurrent receives on one Sub take
// turns; give each receiving goroutine its own Sub for parallelism.
package psample

/*
#cgo pkg-config: psample
#include <stdlib.h>
#include <psample.h>
*/
import "C"

import (
	"io/fs"
	"math"
	"net"
	"os"
	"runtime"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
	"unsafe"
)

// The Flag*, Kind*, Packet*, Field*, Tunnel* and Max* constants with their types, and the
// Packet, Tunnel, Stats and GroupInfo records with their conversions, are generated from
// psample.h by bindings/gen.py into abi_generated.go.

// Options of Subscribe and ListGroups. The zero value (or a nil *Options) means: Recv waits,
// every group, this network namespace, kernel senders only, the library's default receive
// buffer and batch.
type Options struct {
	// Flag* bits. FlagNonblock: Recv returns an error wrapping syscall.EAGAIN instead of
	// waiting when nothing is queued.
	Flags  SubFlags
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
	Op    string // "subscribe", "recv", "stats", "group stats", "wakeup", "list groups", "decode"
	Errno syscall.Errno
}

func (e *Error) Error() string {
	return "psample " + e.Op + ": " + C.GoString(C.psample_strerror(C.int(e.Errno)))
}

func (e *Error) Unwrap() error { return e.Errno }

func fail(op string, rc C.int) error { return &Error{Op: op, Errno: syscall.Errno(-rc)} }

// ErrClosed is returned by the methods of a Sub after Close, including by a Recv that was
// waiting when Close was called. errors.Is(ErrClosed, net.ErrClosed) and
// errors.Is(ErrClosed, fs.ErrClosed) hold.
var ErrClosed error = closedError{}

type closedError struct{}

func (closedError) Error() string { return "psample: use of closed subscription" }

func (closedError) Is(target error) bool { return target == net.ErrClosed || target == fs.ErrClosed }

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
//
// The C handle is always nonblocking. A Recv calls psample_recv only when the handle's
// descriptor (psample_poll_fd: readable when records are queued or a wake-up is pending) is
// readable (or to find out), and otherwise parks its goroutine in Go's poller on a duplicate of
// that descriptor wrapped in an os.File. Closing that file is what wakes waiting receives on
// Close; the C handle is freed only after they have left.
type Sub struct {
	file     *os.File        // duplicate of the handle's socket, registered with the poller
	raw      syscall.RawConn // file's, for waiting
	fd       int             // the handle's psample_poll_fd (Fd)
	nonblock bool            // the caller asked for FlagNonblock: never wait
	closed   atomic.Bool

	cmu sync.Mutex // serializes calls into the C handle, which is for one thread at a time
	h   *C.struct_psample_sub
	buf []C.struct_psample_packet // C memory, freed by Close; cbuf is its start
	// Passed to C as a plain pointer: cgo's check of a &buf[0] argument converts the whole slice
	// to an interface, an allocation per call.
	cbuf *C.struct_psample_packet

	spare atomic.Pointer[recvCall] // a receive's state, kept for the next one

	dl *deadlines
}

// Subscribe opens a subscription. Without psample in the kernel the error wraps
// syscall.ENOENT; without CAP_NET_ADMIN, syscall.EPERM; for bad options, syscall.EINVAL.
func Subscribe(opts *Options) (*Sub, error) {
	c, groups, err := opts.toC("subscribe")
	if err != nil {
		return nil, err
	}
	defer C.free(groups)
	nonblock := c.flags&C.uint32_t(FlagNonblock) != 0
	c.flags |= C.uint32_t(FlagNonblock)
	batch := int(c.batch)
	if batch == 0 {
		batch = C.PSAMPLE_DEFAULT_BATCH
	}
	var h *C.struct_psample_sub
	if rc := C.psample_subscribe(&h, &c); rc < 0 {
		return nil, fail("subscribe", rc)
	}
	cbuf := (*C.struct_psample_packet)(C.calloc(C.size_t(batch), C.sizeof_struct_psample_packet))
	if cbuf == nil {
		C.psample_close(h)
		return nil, &Error{Op: "subscribe", Errno: syscall.ENOMEM}
	}
	s := &Sub{h: h, fd: int(C.psample_poll_fd(h)), nonblock: nonblock, buf: unsafe.Slice(cbuf, batch), cbuf: cbuf}
	s.dl = &deadlines{}
	s.dl.cond.L = &s.dl.mu
	if err := s.openFile(); err != nil {
		C.psample_close(h)
		C.free(unsafe.Pointer(cbuf))
		return nil, err
	}
	// Like an os.File, a Sub that is dropped without Close does not leak its C handle.
	runtime.SetFinalizer(s, (*Sub).Close)
	return s, nil
}

// openFile wraps a close-on-exec duplicate of the handle's psample_poll_fd (nonblocking, as the
// handle is) in an os.File, which registers it with Go's poller.
func (s *Sub) openFile() error {
	dup, _, errno := syscall.Syscall(syscall.SYS_FCNTL, uintptr(s.fd), syscall.F_DUPFD_CLOEXEC, 0)
	if errno != 0 {
		return &Error{Op: "subscribe", Errno: errno}
	}
	s.file = os.NewFile(dup, "psample")
	var err error
	if s.raw, err = s.file.SyscallConn(); err == nil {
		// Fails with os.ErrNoDeadline when the poller did not take the descriptor.
		err = s.file.SetReadDeadline(time.Time{})
	}
	if err != nil {
		s.file.Close()
		return &os.SyscallError{Syscall: "psample: poller", Err: err}
	}
	return nil
}

func (s *Sub) isClosed() bool { return s.file == nil || s.closed.Load() }

// Fd is the subscription's descriptor for poll/epoll (psample_poll_fd: readable when a record
// is queued or a Wakeup is pending). Owned by the Sub: do not close it or read from it. The
// handle is nonblocking whatever the Flags. -1 after Close.
func (s *Sub) Fd() int {
	if s.isClosed() {
		return -1
	}
	return s.fd
}

// Stats returns the subscription's loss accounting.
func (s *Sub) Stats() (Stats, error) {
	s.cmu.Lock()
	defer s.cmu.Unlock()
	if s.h == nil {
		return Stats{}, ErrClosed
	}
	var c C.struct_psample_stats
	if rc := C.psample_stats(s.h, &c, C.sizeof_struct_psample_stats); rc < 0 {
		return Stats{}, fail("stats", rc)
	}
	return statsFromC(&c), nil
}

// GroupStats lists what the Sub received per (namespace, group) it has seen: samples delivered,
// samples missed by the group's sequence numbers, and the last sequence number
// (psample_group_stats). Safe from any goroutine: it takes turns with receives.
func (s *Sub) GroupStats() ([]GroupStats, error) {
	s.cmu.Lock()
	defer s.cmu.Unlock()
	if s.h == nil {
		return nil, ErrClosed
	}
	// Room for the pairs seen so far plus some; the handle follows at most 768.
	buf := make([]C.struct_psample_group_stats, 16)
	for {
		var total C.size_t
		rc := C.psample_group_stats(s.h, &buf[0], C.size_t(len(buf)), C.sizeof_struct_psample_group_stats, &total)
		if rc < 0 {
			return nil, fail("group stats", rc)
		}
		// cmu keeps receives out, so no pair appears between two calls.
		if int(total) > len(buf) {
			buf = make([]C.struct_psample_group_stats, int(total))
			continue
		}
		out := make([]GroupStats, int(rc))
		for i := range out {
			out[i] = groupStatsFromC(&buf[i])
		}
		return out, nil
	}
}

// Close closes the subscription, from any goroutine: receives waiting on it return
// ErrClosed. Packets already received stay valid (they are copies). Closing twice is a no-op.
func (s *Sub) Close() error {
	if s.file == nil || !s.closed.CompareAndSwap(false, true) {
		return nil
	}
	// Closing the file wakes the receives parked in the poller, and returns only after every
	// receive that was inside the file's Read (so possibly inside psample_recv) has left it.
	_ = s.file.Close()
	s.dl.mu.Lock()
	s.dl.cond.Broadcast()
	s.dl.mu.Unlock()
	// Only now is the C handle freed; cmu covers any Recv or Stats still on their way in.
	s.cmu.Lock()
	C.psample_close(s.h)
	C.free(unsafe.Pointer(s.cbuf))
	s.h, s.buf, s.cbuf = nil, nil, nil
	s.cmu.Unlock()
	runtime.SetFinalizer(s, nil)
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
