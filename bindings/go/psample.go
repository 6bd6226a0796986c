// Package psample receives Linux psample packet samples (tc act_sample, the OVS psample
// action, switch ASICs) through libpsample, the C library in include/psample.h.
//
// It is a thin cgo binding, found with pkg-config ("psample"). Receiving waits in Go's
// network poller, like a net.Conn: no OS thread is blocked in C while a Recv waits, a context
// or a read deadline ends the wait, and Close from any goroutine ends it with ErrClosed
// (errors.Is(err, net.ErrClosed)).
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

// psample_recv for Recv's hot path. The pointers travel as integers (both are C memory): cgo
// converts a pointer to the opaque struct psample_sub to an interface for its pointer check,
// which allocates on every call.
static int recv_batch(uintptr_t sub, uintptr_t pkts, size_t n)
{
	return psample_recv((struct psample_sub *)sub, (struct psample_packet *)pkts, n, sizeof(struct psample_packet));
}
*/
import "C"

import (
	"context"
	"errors"
	"io/fs"
	"math"
	"net"
	"os"
	"runtime"
	"strconv"
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

// errAgain is Recv's EAGAIN with FlagNonblock, made once: polling callers see it often.
var errAgain = &Error{Op: "recv", Errno: syscall.EAGAIN}

// errWoken is Recv's ECANCELED after Wakeup.
var errWoken = &Error{Op: "recv", Errno: syscall.ECANCELED}

// errWakePending tells recv that its wait ended for a Wakeup: ask the C handle.
var errWakePending = errors.New("psample: wake-up pending")

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
// The C handle is always nonblocking. A Recv calls psample_recv only when the socket is
// readable (or to find out), and otherwise parks its goroutine in Go's poller on a duplicate
// of the socket's descriptor wrapped in an os.File. Closing that file is what wakes waiting
// receives on Close; the C handle is freed only after they have left.
type Sub struct {
	file     *os.File        // duplicate of the handle's socket, registered with the poller
	raw      syscall.RawConn // file's, for waiting
	fd       int             // the handle's own descriptor (Fd)
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

// deadlines is a Sub's read deadline. A RecvContext whose context ends moves the file's
// deadline into the past to wake its own wait; other receives woken by that retry, and the
// caller's deadline is put back when the last such RecvContext returns. (Apart from the Sub, as
// a Sub pointing into itself would never be finalized.)
type deadlines struct {
	mu         sync.Mutex
	cond       sync.Cond // signalled when interrupts or wakeups drop, and on Close
	at         time.Time // set by SetReadDeadline
	interrupts int       // RecvContext calls whose context ended during their wait
	// Wakeup calls whose ECANCELED no receive has returned yet. While there are any, the file's
	// deadline stays in the past, so waiting receives wake and ask the C handle, which returns
	// queued samples first and then ECANCELED, once per Wakeup.
	wakeups int
}

// aLongTimeAgo is a deadline that has passed: setting it wakes a waiting read at once.
var aLongTimeAgo = time.Unix(1, 0)

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
	s := &Sub{h: h, fd: int(C.psample_fd(h)), nonblock: nonblock, buf: unsafe.Slice(cbuf, batch), cbuf: cbuf}
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

// openFile wraps a close-on-exec duplicate of the handle's socket (nonblocking, as the handle
// is) in an os.File, which registers it with Go's poller.
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

// recvCall is one Recv's state for the function the poller calls. A Sub keeps one for its next
// receive, with the function bound once, so a Recv allocates nothing for it (unless another
// receive on the same Sub holds it).
type recvCall struct {
	s    *Sub
	pkts []Packet
	buf  []byte // RecvInto's, else nil
	n    int    // records filled
	rc   C.int  // psample_recv's result when negative
	try  func(fd uintptr) bool
}

func (s *Sub) getCall(pkts []Packet, buf []byte) *recvCall {
	c := s.spare.Swap(nil)
	if c == nil {
		c = new(recvCall)
		c.try = c.attempt
	}
	c.s, c.pkts, c.buf = s, pkts, buf
	return c
}

func (s *Sub) putCall(c *recvCall) {
	c.s, c.pkts, c.buf = nil, nil, nil
	s.spare.Store(c)
}

// attempt receives what is queued without blocking; false (wait for readability) on EAGAIN.
// Go's poller is edge-triggered: the handle reads until EAGAIN before it reports it, so
// returning false never leaves a queued record unseen.
func (c *recvCall) attempt(uintptr) bool {
	c.n, c.rc = c.s.recvNow(c.pkts, c.buf)
	return c.rc != -C.int(syscall.EAGAIN)
}

// recvNow calls psample_recv once and copies what it returns into pkts, their bytes into buf
// when they fit (copyOut). A closed handle gives -EBADF, which Recv reports as ErrClosed.
func (s *Sub) recvNow(pkts []Packet, buf []byte) (int, C.int) {
	s.cmu.Lock()
	defer s.cmu.Unlock()
	if s.h == nil {
		return 0, -C.int(syscall.EBADF)
	}
	n := len(pkts)
	if n > len(s.buf) {
		n = len(s.buf)
	}
	h, cpkts := C.uintptr_t(uintptr(unsafe.Pointer(s.h))), C.uintptr_t(uintptr(unsafe.Pointer(s.cbuf)))
	rc := C.recv_batch(h, cpkts, C.size_t(n))
	for rc == -C.int(syscall.EINTR) {
		rc = C.recv_batch(h, cpkts, C.size_t(n))
	}
	if rc <= 0 {
		return 0, rc
	}
	copyOut(s.buf[:rc], pkts, buf)
	return int(rc), 0
}

// copyOut copies received C records into pkts: all their bytes into buf when they fit in its
// capacity, else into one new allocation (none when they carry no bytes); the rest in place.
func copyOut(cpkts []C.struct_psample_packet, pkts []Packet, buf []byte) {
	total, tunnels := 0, 0
	for i := range cpkts {
		total += packetBytes(&cpkts[i])
		if cpkts[i].fields&C.PSAMPLE_FIELD_TUNNEL != 0 {
			tunnels++
		}
	}
	a := arena{}
	if total > 0 && total <= cap(buf) {
		a.buf = buf[:0]
	} else if total > 0 {
		a.buf = make([]byte, 0, total)
	}
	if tunnels > 0 {
		a.tunnels = make([]Tunnel, 0, tunnels)
	}
	for i := range cpkts {
		packetFromC(&cpkts[i], &pkts[i], &a)
	}
}

// arena holds the copies of one batch of records; each Packet gets its own capped part.
type arena struct {
	buf     []byte
	tunnels []Tunnel
}

// copy copies n bytes at p into the arena; nil for a NULL pointer (an absent value).
func (a *arena) copy(p *C.uint8_t, n C.uint32_t) []byte {
	if p == nil {
		return nil
	}
	if n == 0 {
		return []byte{}
	}
	start := len(a.buf)
	a.buf = append(a.buf, unsafe.Slice((*byte)(unsafe.Pointer(p)), int(n))...)
	return a.buf[start:len(a.buf):len(a.buf)]
}

func (a *arena) tunnel() *Tunnel {
	a.tunnels = append(a.tunnels, Tunnel{})
	return &a.tunnels[len(a.tunnels)-1]
}

// Recv fills pkts with received records and returns how many (at least 1, at most len(pkts)
// and the batch size). It waits, in Go's poller, until one is queued, the read deadline
// passes (os.ErrDeadlineExceeded) or the Sub is closed (ErrClosed). With FlagNonblock it
// does not wait: the error wraps syscall.EAGAIN.
//
// Each Packet's byte slices are new copies (one allocation per call for the batch), so
// receiving into the same pkts again allocates nothing else.
func (s *Sub) Recv(pkts []Packet) (int, error) {
	return s.recv(nil, pkts, nil)
}

// RecvInto is Recv that copies the records' bytes (data, cookies, tunnel options) into buf
// instead of a new allocation, when they fit in its capacity (else it allocates, as Recv).
// The packets' byte slices then point into buf: they are valid until the caller reuses buf,
// for example in the next RecvInto. Receiving into a reused pkts and buf allocates nothing (but
// a Tunnel slice per batch with tunnel metadata), so the garbage collector has nothing to do
// per sample. Size buf for the expected batch (batch size times the tc action's trunc, plus
// cookies); a batch whose bytes do not fit is still received whole, into a new allocation.
func (s *Sub) RecvInto(pkts []Packet, buf []byte) (int, error) {
	return s.recv(nil, pkts, buf)
}

// RecvContext is Recv that also returns ctx.Err() when ctx ends during the wait.
func (s *Sub) RecvContext(ctx context.Context, pkts []Packet) (int, error) {
	if ctx.Done() == nil {
		return s.recv(nil, pkts, nil)
	}
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	if s.isClosed() {
		return 0, ErrClosed
	}
	if len(pkts) == 0 || s.nonblock {
		return s.recv(ctx, pkts, nil)
	}
	// Queued already (and no deadline to honour first): no watcher needed.
	s.dl.mu.Lock()
	noDeadline := s.dl.at.IsZero()
	s.dl.mu.Unlock()
	if noDeadline {
		if n, rc := s.recvNow(pkts, nil); rc != -C.int(syscall.EAGAIN) {
			return s.result(n, rc)
		}
	}
	// Go 1.19 has no context.AfterFunc: a goroutine wakes the wait when ctx ends.
	stop, done := make(chan struct{}), make(chan bool)
	go func() {
		select {
		case <-ctx.Done():
			s.interrupt()
			done <- true
		case <-stop:
			done <- false
		}
	}()
	n, err := s.recv(ctx, pkts, nil)
	close(stop)
	if <-done {
		s.resume()
	}
	return n, err
}

// recv receives into pkts (their bytes into buf when they fit), waiting unless the Sub is
// nonblocking; ctx (may be nil) is the caller's, whose end turns a woken wait into ctx.Err().
func (s *Sub) recv(ctx context.Context, pkts []Packet, buf []byte) (int, error) {
	if s.isClosed() {
		return 0, ErrClosed
	}
	if len(pkts) == 0 {
		return 0, nil
	}
	if s.nonblock {
		return s.result(s.recvNow(pkts, buf))
	}
	call := s.getCall(pkts, buf)
	defer s.putCall(call)
	for {
		err := s.raw.Read(call.try)
		if err == nil {
			return s.result(call.n, call.rc)
		}
		if s.isClosed() {
			return 0, ErrClosed
		}
		if !errors.Is(err, os.ErrDeadlineExceeded) {
			return 0, &os.SyscallError{Syscall: "psample: wait", Err: err}
		}
		err = s.afterDeadline(ctx)
		if err == errWakePending {
			// The file's deadline is in the past until the wake-up is returned: read without
			// the poller, which would fail at once.
			if n, rc := s.recvNow(pkts, buf); rc != -C.int(syscall.EAGAIN) {
				return s.result(n, rc)
			}
			// Another receive took the wake-up and has yet to count it: wait until it has.
			err = s.waitWakeupsDrop(ctx)
		}
		if err != nil {
			return 0, err
		}
	}
}

// waitWakeupsDrop waits until the count of pending wake-ups changes (or the Sub closes, or ctx
// ends: then its error).
func (s *Sub) waitWakeupsDrop(ctx context.Context) error {
	s.dl.mu.Lock()
	defer s.dl.mu.Unlock()
	for pending := s.dl.wakeups; pending > 0 && s.dl.wakeups == pending; {
		switch {
		case ctx != nil && ctx.Err() != nil:
			return ctx.Err()
		case s.isClosed():
			return ErrClosed
		}
		s.dl.cond.Wait()
	}
	return nil
}

// afterDeadline decides what a wait that ended on the file's deadline means: the caller's
// context ended, the caller's deadline passed, the Sub was closed, or another receive's
// context ended (then nil, once that one has put the deadline back: wait again).
func (s *Sub) afterDeadline(ctx context.Context) error {
	s.dl.mu.Lock()
	defer s.dl.mu.Unlock()
	for {
		switch {
		case ctx != nil && ctx.Err() != nil:
			return ctx.Err()
		case s.isClosed():
			return ErrClosed
		case !s.dl.at.IsZero() && !time.Now().Before(s.dl.at):
			return os.ErrDeadlineExceeded
		case s.dl.wakeups > 0:
			return errWakePending
		case s.dl.interrupts == 0:
			return nil
		}
		s.dl.cond.Wait()
	}
}

// interrupt wakes the receives waiting on this Sub: a RecvContext's context ended.
func (s *Sub) interrupt() {
	s.dl.mu.Lock()
	s.dl.interrupts++
	_ = s.file.SetReadDeadline(aLongTimeAgo) // fails only once closed, which wakes them anyway
	s.dl.cond.Broadcast()
	s.dl.mu.Unlock()
}

// resume undoes interrupt once its RecvContext has returned.
func (s *Sub) resume() {
	s.dl.mu.Lock()
	s.dl.interrupts--
	s.restoreDeadline()
	s.dl.mu.Unlock()
}

// restoreDeadline puts the caller's deadline back on the file once no RecvContext interrupt and
// no Wakeup holds it in the past, and wakes the receives waiting for that. Called with dl.mu.
func (s *Sub) restoreDeadline() {
	if s.dl.interrupts == 0 && s.dl.wakeups == 0 {
		_ = s.file.SetReadDeadline(s.dl.at)
	}
	s.dl.cond.Broadcast()
}

// woken counts one Wakeup as returned (by a receive that got ECANCELED from the C handle).
func (s *Sub) woken() {
	s.dl.mu.Lock()
	if s.dl.wakeups > 0 {
		s.dl.wakeups--
	}
	s.restoreDeadline()
	s.dl.mu.Unlock()
}

// Wakeup makes one receive return an error wrapping syscall.ECANCELED (errors.Is(err,
// syscall.ECANCELED)): a Recv or RecvContext waiting on the Sub now, or else the next one that
// would wait (or, with FlagNonblock, return EAGAIN). Records already queued are returned first.
// Wake-ups add up: three calls end three receives. Any goroutine may call it, also during a
// Recv; after Close it returns ErrClosed. It wraps psample_wakeup, which is async-signal-safe in
// C, but this method takes locks: from a signal, use os/signal and call it from a goroutine.
func (s *Sub) Wakeup() error {
	if s.isClosed() {
		return ErrClosed
	}
	s.dl.mu.Lock()
	defer s.dl.mu.Unlock()
	s.cmu.Lock()
	if s.h == nil {
		s.cmu.Unlock()
		return ErrClosed
	}
	rc := C.psample_wakeup(s.h)
	s.cmu.Unlock()
	if rc < 0 {
		return fail("wakeup", rc)
	}
	// The C handle's own wake-up does not reach a receive parked in Go's poller (it waits on the
	// socket only): a deadline in the past does, until a receive returns the ECANCELED.
	s.dl.wakeups++
	_ = s.file.SetReadDeadline(aLongTimeAgo) // fails only once closed, which wakes them anyway
	s.dl.cond.Broadcast()
	return nil
}

// result turns recvNow's outcome into Recv's.
func (s *Sub) result(n int, rc C.int) (int, error) {
	switch {
	case rc == 0:
		return n, nil
	case rc == -C.int(syscall.EAGAIN):
		return 0, errAgain
	case rc == -C.int(syscall.EBADF) || s.isClosed():
		return 0, ErrClosed
	case rc == -C.int(syscall.ECANCELED):
		s.woken()
		return 0, errWoken
	}
	return 0, fail("recv", rc)
}

// SetReadDeadline sets when waiting receives give up with os.ErrDeadlineExceeded (a timeout
// net.Error), as net.Conn's does: it applies to receives already waiting, and a zero t means
// no deadline. A passed deadline fails a Recv even when records are queued.
func (s *Sub) SetReadDeadline(t time.Time) error {
	if s.isClosed() {
		return ErrClosed
	}
	s.dl.mu.Lock()
	defer s.dl.mu.Unlock()
	s.dl.at = t
	if s.dl.interrupts > 0 || s.dl.wakeups > 0 {
		return nil // resume or woken sets it
	}
	if err := s.file.SetReadDeadline(t); err != nil {
		if s.isClosed() {
			return ErrClosed
		}
		return err
	}
	return nil
}

func (s *Sub) isClosed() bool { return s.file == nil || s.closed.Load() }

// Fd is the subscription's socket, for poll/epoll (readable when a record is queued). Owned by
// the Sub: do not close it or read from it. The handle is nonblocking whatever the Flags.
// -1 after Close.
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

// Decode decodes one psample netlink message (nlmsghdr onwards, e.g. captured with nlmon).
// Errors wrap syscall.EBADMSG for a malformed message and syscall.ENOMSG for a netlink message
// that is not a psample sample or group event.
func Decode(msg []byte) (Packet, error) {
	var c [1]C.struct_psample_packet
	cmsg, err := decodeC(msg, &c[0])
	if err != nil {
		return Packet{}, err
	}
	defer C.free(cmsg)
	var p [1]Packet
	copyOut(c[:], p[:], nil)
	return p[0], nil
}

// decodeC decodes msg into *c. Decoded pointers point into the message: a C copy, returned for
// the caller to free after use, keeps Go pointers out of the C struct.
func decodeC(msg []byte, c *C.struct_psample_packet) (unsafe.Pointer, error) {
	if len(msg) == 0 {
		return nil, &Error{Op: "decode", Errno: syscall.EBADMSG}
	}
	cmsg := C.CBytes(msg)
	if rc := C.psample_decode(cmsg, C.size_t(len(msg)), c, C.sizeof_struct_psample_packet); rc < 0 {
		C.free(cmsg)
		return nil, fail("decode", rc)
	}
	return cmsg, nil
}

// decodedBatch is a receive buffer filled as psample_recv would fill it, from messages
// decoded by psample_decode: the tests measure copyOut, Recv's conversion, on it.
type decodedBatch struct {
	c    []C.struct_psample_packet
	msgs []unsafe.Pointer
}

func newDecodedBatch(msgs [][]byte) (*decodedBatch, error) {
	b := &decodedBatch{c: make([]C.struct_psample_packet, len(msgs))}
	for i, m := range msgs {
		cmsg, err := decodeC(m, &b.c[i])
		if err != nil {
			b.free()
			return nil, err
		}
		b.msgs = append(b.msgs, cmsg)
	}
	return b, nil
}

func (b *decodedBatch) copyOut(pkts []Packet, buf []byte) { copyOut(b.c, pkts, buf) }

func (b *decodedBatch) free() {
	for _, m := range b.msgs {
		C.free(m)
	}
	b.msgs = nil
}

// EffectiveRate is the sampling rate as "1 in N", whether the producer sent N or a
// probability (FieldSampleProbability, as OVS does); 0 for a zero probability.
func (p Packet) EffectiveRate() uint32 {
	c := C.struct_psample_packet{fields: C.uint64_t(p.Fields), rate: C.uint32_t(p.Rate)}
	return uint32(C.psample_effective_rate(&c))
}

// OVSCookie decodes the cookie of a sample from Open vSwitch's psample action (local
// sampling): two big-endian 32-bit ids, the observation domain and point. ok is false when
// the cookie is not exactly 8 bytes (absent, or another producer's).
func (p *Packet) OVSCookie() (obsDomainID, obsPointID uint32, ok bool) {
	c := p.UserCookie
	if len(c) != 8 {
		return 0, 0, false
	}
	return uint32(c[0])<<24 | uint32(c[1])<<16 | uint32(c[2])<<8 | uint32(c[3]),
		uint32(c[4])<<24 | uint32(c[5])<<16 | uint32(c[6])<<8 | uint32(c[7]), true
}

// bitName names one bit of a flag type, for its String method.
type bitName struct {
	bit  uint64
	name string
}

// bitsString names the bits of v in names' order, joined by "|"; unknown bits in hex.
func bitsString(v uint64, names []bitName) string {
	if v == 0 {
		return "0"
	}
	var b []byte
	for _, n := range names {
		if v&n.bit != 0 {
			if len(b) > 0 {
				b = append(b, '|')
			}
			b = append(b, n.name...)
			v &^= n.bit
		}
	}
	if v != 0 {
		if len(b) > 0 {
			b = append(b, '|')
		}
		b = append(b, "0x"...)
		b = strconv.AppendUint(b, v, 16)
	}
	return string(b)
}
