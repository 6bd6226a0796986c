package psample

// Receiving: Recv and its variants, waiting in Go's poller, read deadlines, contexts and Wakeup.

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
	"os"
	"sync"
	"syscall"
	"time"
	"unsafe"
)

// errAgain is Recv's EAGAIN with FlagNonblock, made once: polling callers see it often.
var errAgain = &Error{Op: "recv", Errno: syscall.EAGAIN}

// ErrWakeup is the error of a receive that Wakeup ended (the library's ECANCELED):
// errors.Is(err, ErrWakeup) holds, and so does errors.Is(err, syscall.ECANCELED). It is a
// *Error with Op "recv".
var ErrWakeup error = &Error{Op: "recv", Errno: syscall.ECANCELED}

// deadlines is a Sub's read deadline. A RecvContext whose context ends moves the file's
// deadline into the past to wake its own wait; other receives woken by that retry, and the
// caller's deadline is put back when the last such RecvContext returns. (Apart from the Sub, as
// a Sub pointing into itself would never be finalized.)
type deadlines struct {
	mu         sync.Mutex
	cond       sync.Cond // signalled when interrupts drop, and on Close
	at         time.Time // set by SetReadDeadline
	interrupts int       // RecvContext calls whose context ended during their wait
}

// aLongTimeAgo is a deadline that has passed: setting it wakes a waiting read at once.
var aLongTimeAgo = time.Unix(1, 0)

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
// returning false never leaves a queued record (or a wake-up's token) unseen.
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

// Recv fills pkts with received records and returns how many (at least 1, at most len(pkts)
// and the batch size). It waits, in Go's poller, until one is queued, the read deadline
// passes (os.ErrDeadlineExceeded), Wakeup is called (ErrWakeup) or the Sub is closed
// (ErrClosed). With FlagNonblock it does not wait: the error wraps syscall.EAGAIN.
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
		if err := s.afterDeadline(ctx); err != nil {
			return 0, err
		}
	}
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

// restoreDeadline puts the caller's deadline back on the file once no RecvContext interrupt
// holds it in the past, and wakes the receives waiting for that. Called with dl.mu.
func (s *Sub) restoreDeadline() {
	if s.dl.interrupts == 0 {
		_ = s.file.SetReadDeadline(s.dl.at)
	}
	s.dl.cond.Broadcast()
}

// Wakeup makes one receive return ErrWakeup: the next Recv or RecvContext on the Sub, or one
// waiting now, before it receives anything (as pcap_breakloop: records already queued stay for
// the receives after it). Wake-ups add up: three calls end three receives. Any goroutine may
// call it, also during a Recv; after Close it returns ErrClosed. It is psample_wakeup, which
// makes the descriptor the Sub waits on (psample_poll_fd) readable, so the library keeps the
// count, not this binding. psample_wakeup is async-signal-safe in C, but this method takes a
// lock: from a signal, use os/signal and call it from a goroutine.
func (s *Sub) Wakeup() error {
	s.cmu.Lock()
	defer s.cmu.Unlock()
	if s.h == nil || s.isClosed() {
		return ErrClosed
	}
	if rc := C.psample_wakeup(s.h); rc < 0 {
		return fail("wakeup", rc)
	}
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
		return 0, ErrWakeup
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
	if s.dl.interrupts > 0 {
		return nil // resume sets it
	}
	if err := s.file.SetReadDeadline(t); err != nil {
		if s.isClosed() {
			return ErrClosed
		}
		return err
	}
	return nil
}
