package psample

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"os"
	"regexp"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// inVM skips outside the VM: these tests need psample and a network namespace whose loopback
// egress is sampled at rate 10 into group 7, truncated at 1500 bytes, which
// tests/vm/bindings-tests.sh sets up (tests/vm/vm-run sets PSAMPLE_IN_VM). Traffic: UDP to
// 127.0.0.1 only, bounded in count and time. bindings/build.sh builds them with -race.
func inVM(t *testing.T) {
	if os.Getenv("PSAMPLE_IN_VM") == "" {
		t.Skip("needs psample and a sampled loopback: runs in the VM (tests/vm/bindings-tests.sh)")
	}
}

// idleGroup is a group nothing samples into: a Sub filtered to it waits until told otherwise.
const idleGroup = 4242

// udpSink is a bound UDP receiver on 127.0.0.1 (so no ICMP port unreachable follows each
// datagram) and a connection that sends to it.
type udpSink struct {
	sink, conn *net.UDPConn
	port       int
}

func newUDPSink(t *testing.T) *udpSink {
	sink, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sink.Close() })
	conn, err := net.DialUDP("udp4", nil, sink.LocalAddr().(*net.UDPAddr))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return &udpSink{sink: sink, conn: conn, port: sink.LocalAddr().(*net.UDPAddr).Port}
}

// send sends payload up to max times, stopping early when stop closes; returns how many.
func (u *udpSink) send(payload []byte, max int, stop <-chan struct{}) (int, error) {
	for i := 0; i < max; i++ {
		select {
		case <-stop:
			return i, nil
		default:
		}
		if _, err := u.conn.Write(payload); err != nil {
			return i, err
		}
	}
	return max, nil
}

func TestVMLoopbackSample(t *testing.T) {
	inVM(t)
	lo, err := net.InterfaceByName("lo")
	if err != nil {
		t.Fatal(err)
	}
	sub, err := Subscribe(&Options{Groups: []uint32{7}})
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Close()
	if sub.Fd() < 0 {
		t.Errorf("Fd() = %d", sub.Fd())
	}
	udp := newUDPSink(t)
	magic := []byte(fmt.Sprintf("psample-go-magic-%d", os.Getpid()))

	// recvMatch has datagrams sent (at most 2000 in all) until a sample of one arrives, waiting
	// for it in RecvContext (20 s at most).
	const maxSent = 2000
	sent := 0
	recvMatch := func() (Packet, bool) {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		stop := make(chan struct{})
		type result struct {
			n   int
			err error
		}
		sender := make(chan result, 1)
		go func() {
			n, err := udp.send(magic, maxSent-sent, stop)
			sender <- result{n, err}
		}()
		defer func() {
			close(stop)
			r := <-sender
			sent += r.n
			if r.err != nil {
				t.Error(r.err)
			}
		}()
		pkts := make([]Packet, 16)
		for {
			n, err := sub.RecvContext(ctx, pkts)
			if err != nil {
				t.Logf("RecvContext: %v", err)
				return Packet{}, false
			}
			for _, p := range pkts[:n] {
				if p.OutIfindex == uint32(lo.Index) && bytes.Equal(udpPayload(p.Data, udp.port), magic) {
					return p, true
				}
			}
		}
	}
	p, ok := recvMatch()
	if !ok {
		t.Fatalf("no sample of our datagrams on lo (index %d) after %d datagrams", lo.Index, sent)
	}
	t.Logf("sample after %d datagrams: group %d seq %d rate %d fields %v out ifindex %d, %d of %d bytes: %x",
		sent, p.Group, p.GroupSeq, p.Rate, p.Fields, p.OutIfindex, len(p.Data), p.OrigSize, p.Data)

	must := FieldOIfindex | FieldOrigSize | FieldSampleGroup | FieldGroupSeq | FieldSampleRate | FieldData |
		FieldTimestamp | FieldProto
	frameLen := 14 + 20 + 8 + len(magic) // Ethernet, IPv4, UDP: shorter than trunc 1500
	if p.Fields&must != must || p.Kind != KindSample || p.Flags != 0 || p.Group != 7 || p.Rate != 10 ||
		p.EffectiveRate() != 10 || p.OrigSize != uint32(frameLen) || len(p.Data) != frameLen ||
		p.Proto != 0x0800 || p.NSID != -1 || p.SenderPortID != 0 || p.Tunnel != nil {
		t.Errorf("sample fields: %+v", p)
	}
	if age := time.Since(time.Unix(0, int64(p.TimestampNs))); age < -time.Minute || age > time.Minute {
		t.Errorf("timestamp %d is %v away from now", p.TimestampNs, age)
	}

	// Data is a copy: it survives the next Recv, which reuses the library's buffers.
	data := append([]byte(nil), p.Data...)
	if _, ok := recvMatch(); !ok {
		t.Fatalf("no second sample after %d datagrams", sent)
	}
	if !bytes.Equal(p.Data, data) {
		t.Error("a received packet's Data changed after the next Recv")
	}

	st, err := sub.Stats()
	if err != nil || st.Delivered < 2 || st.KernelDrops != 0 || st.DecodeErrors != 0 || st.Rcvbuf == 0 {
		t.Errorf("Stats() = %+v, %v", st, err)
	}
	// Every sample was of group 7 in this namespace: its pair carries them all.
	pairs, err := sub.GroupStats()
	if err != nil || len(pairs) != 1 || pairs[0].Group != 7 || pairs[0].NSID != -1 ||
		pairs[0].Delivered != st.Delivered || pairs[0].SeqLost != st.SeqGaps || pairs[0].LastSeq == 0 {
		t.Errorf("GroupStats() = %+v, %v; want group 7, nsid -1, delivered %d (Stats)", pairs, err, st.Delivered)
	}
	groups, err := ListGroups(nil)
	found := false
	for _, g := range groups {
		found = found || (g.Group == 7 && g.Refcount >= 1)
	}
	if err != nil || !found {
		t.Errorf("ListGroups() = %+v, %v; want group 7 in use", groups, err)
	}
	if err := sub.Close(); err != nil || sub.Fd() != -1 {
		t.Errorf("Close: %v, Fd() after = %d", err, sub.Fd())
	}
}

// waitParked waits (30 s at most) until n goroutines wait inside a Recv: parked in Go's poller,
// or queued for the Sub's read lock behind another receive (never in C).
func waitParked(t *testing.T, n int) {
	t.Helper()
	buf := make([]byte, 1<<20)
	deadline := time.Now().Add(30 * time.Second)
	for {
		for {
			m := runtime.Stack(buf, true)
			if m < len(buf) {
				buf = buf[:m]
				break
			}
			buf = make([]byte, 2*len(buf))
		}
		parked := 0
		for _, g := range strings.Split(string(buf), "\n\n") {
			if strings.Contains(g, "psample.(*Sub).recv") && (strings.Contains(g, "internal/poll.runtime_pollWait") ||
				strings.Contains(g, "internal/poll.runtime_Semacquire")) {
				parked++
			}
		}
		if parked >= n {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d receives parked in the poller after 30 s:\n%s", parked, n, buf)
		}
		time.Sleep(10 * time.Millisecond)
		buf = buf[:cap(buf)]
	}
}

func threads(t *testing.T) int {
	status, err := os.ReadFile("/proc/self/status")
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`(?m)^Threads:\s+(\d+)$`).FindSubmatch(status)
	if m == nil {
		t.Fatalf("no Threads line in /proc/self/status")
	}
	n, _ := strconv.Atoi(string(m[1]))
	return n
}

// 200 goroutines, each waiting in Recv on its own Sub, cost no OS thread each; Close wakes
// every one with ErrClosed.
func TestVMThreads(t *testing.T) {
	inVM(t)
	const receivers = 200
	subs := make([]*Sub, receivers)
	for i := range subs {
		sub, err := Subscribe(&Options{Groups: []uint32{idleGroup}, Batch: 1})
		if err != nil {
			t.Fatalf("Subscribe %d: %v", i, err)
		}
		defer sub.Close()
		subs[i] = sub
	}
	errs := make(chan error, receivers)
	for _, sub := range subs {
		go func(sub *Sub) {
			_, err := sub.Recv(make([]Packet, 1))
			errs <- err
		}(sub)
	}
	waitParked(t, receivers)
	n := threads(t)
	t.Logf("%d goroutines waiting in Recv on %d Subs: %d OS threads (GOMAXPROCS %d)", receivers, receivers, n,
		runtime.GOMAXPROCS(0))
	if n >= 20 {
		t.Errorf("%d OS threads with %d receivers waiting, want < 20", n, receivers)
	}
	start := time.Now()
	for _, sub := range subs {
		if err := sub.Close(); err != nil {
			t.Error(err)
		}
	}
	for i := 0; i < receivers; i++ {
		select {
		case err := <-errs:
			if !errors.Is(err, net.ErrClosed) {
				t.Errorf("Recv after Close: %v, want net.ErrClosed", err)
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("%d of %d receives still waiting 10 s after Close", receivers-i, receivers)
		}
	}
	t.Logf("closing %d Subs under waiting receives took %v", receivers, time.Since(start))
}

// A RecvContext returns within 100 ms of its context's cancel (also when the Sub has a read
// deadline, and while another goroutine waits on the same Sub); deadlines work too.
func TestVMCancel(t *testing.T) {
	inVM(t)
	sub, err := Subscribe(&Options{Groups: []uint32{idleGroup}})
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Close()
	pkts := make([]Packet, 4)

	// Another receiver on the same Sub, with no context: the cancels must not end its wait.
	other := make(chan error, 1)
	go func() {
		_, err := sub.Recv(make([]Packet, 1))
		other <- err
	}()
	waitParked(t, 1)

	var worst time.Duration
	for round := 0; round < 10; round++ {
		if round == 5 {
			if err := sub.SetReadDeadline(time.Now().Add(time.Hour)); err != nil {
				t.Fatal(err)
			}
		}
		ctx, cancel := context.WithCancel(context.Background())
		type result struct {
			err error
			at  time.Time
		}
		done := make(chan result, 1)
		go func() {
			_, err := sub.RecvContext(ctx, pkts)
			done <- result{err, time.Now()}
		}()
		waitParked(t, 2)
		cancelled := time.Now()
		cancel()
		r := <-done
		latency := r.at.Sub(cancelled)
		if latency > worst {
			worst = latency
		}
		if !errors.Is(r.err, context.Canceled) {
			t.Errorf("round %d: RecvContext after cancel: %v", round, r.err)
		}
		if latency >= 100*time.Millisecond {
			t.Errorf("round %d: RecvContext returned %v after cancel, want < 100ms", round, latency)
		}
	}
	t.Logf("cancel latency: worst %v of 10", worst)
	select {
	case err := <-other:
		t.Fatalf("the other receiver's Recv returned: %v", err)
	default:
	}

	// A context deadline, and the Sub's read deadline.
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	start := time.Now()
	if _, err := sub.RecvContext(ctx, pkts); !errors.Is(err, context.DeadlineExceeded) || time.Since(start) > 2*time.Second {
		t.Errorf("RecvContext with a 50ms timeout: %v after %v", err, time.Since(start))
	}
	if err := sub.SetReadDeadline(time.Now().Add(50 * time.Millisecond)); err != nil {
		t.Fatal(err)
	}
	start = time.Now()
	_, err = sub.Recv(pkts)
	var nerr net.Error
	if !errors.Is(err, os.ErrDeadlineExceeded) || !errors.As(err, &nerr) || !nerr.Timeout() || time.Since(start) > 2*time.Second {
		t.Errorf("Recv with a 50ms deadline: %v after %v", err, time.Since(start))
	}
	// The deadline woke the other receiver too, as on a net.Conn.
	select {
	case err := <-other:
		if !errors.Is(err, os.ErrDeadlineExceeded) {
			t.Errorf("the other receiver: %v, want os.ErrDeadlineExceeded", err)
		}
	case <-time.After(10 * time.Second):
		t.Error("the other receiver still waits 10 s after the deadline")
	}
	if err := sub.SetReadDeadline(time.Time{}); err != nil {
		t.Fatal(err)
	}
}

// Close from another goroutine during Recv, RecvContext, Stats and SetReadDeadline: clean under
// the race detector, every waiting receive ends with ErrClosed, and nothing touches the
// freed handle (the race detector and the C library's own checks would see it).
func TestVMCloseDuringRecv(t *testing.T) {
	inVM(t)
	for round := 0; round < 20; round++ {
		sub, err := Subscribe(&Options{Groups: []uint32{idleGroup}})
		if err != nil {
			t.Fatal(err)
		}
		var wg sync.WaitGroup
		errs := make(chan error, 3)
		wg.Add(3)
		go func() { defer wg.Done(); _, err := sub.Recv(make([]Packet, 8)); errs <- err }()
		go func() {
			defer wg.Done()
			_, err := sub.RecvContext(context.Background(), make([]Packet, 8))
			errs <- err
		}()
		go func() {
			defer wg.Done()
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			_, err := sub.RecvContext(ctx, make([]Packet, 8))
			errs <- err
		}()
		statsDone := make(chan struct{})
		go func() { // Stats and deadlines during the Close: an error after it, never a crash
			defer close(statsDone)
			for i := 0; i < 100; i++ {
				if _, err := sub.Stats(); err != nil && err != ErrClosed {
					t.Errorf("Stats: %v", err)
				}
				_ = sub.SetReadDeadline(time.Time{})
			}
		}()
		if round%2 == 0 {
			waitParked(t, 1) // at least one receive waits; the others wait or queue behind it
		}
		closeStarted := time.Now()
		if err := sub.Close(); err != nil {
			t.Fatal(err)
		}
		wg.Wait()
		<-statsDone
		if d := time.Since(closeStarted); d > 5*time.Second {
			t.Errorf("round %d: receives returned %v after Close", round, d)
		}
		close(errs)
		for err := range errs {
			if !errors.Is(err, net.ErrClosed) {
				t.Errorf("round %d: receive during Close: %v, want net.ErrClosed", round, err)
			}
		}
		if _, err := sub.Stats(); err != ErrClosed {
			t.Errorf("Stats after Close: %v", err)
		}
	}
}

// Receiving into a reused []Packet: one allocation per Recv (the copy of the data), with one
// sample per Recv (Batch 1) so that is per sample.
func TestVMRecvAllocs(t *testing.T) {
	inVM(t)
	sub, err := Subscribe(&Options{Groups: []uint32{7}, Batch: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Close()
	udp := newUDPSink(t)
	// 2000 datagrams sampled 1 in 10 queue about 200 samples (fewer than 82 has a probability
	// below 1e-12); each AllocsPerRun below takes 41.
	if n, err := udp.send([]byte("psample-go-allocs"), 2000, nil); err != nil {
		t.Fatalf("sent %d: %v", n, err)
	}
	if err := sub.SetReadDeadline(time.Now().Add(30 * time.Second)); err != nil {
		t.Fatal(err)
	}
	pkts := make([]Packet, 1)
	var recvErr error
	received := 0
	// Every allocation profiled, to name the sites when there are too many.
	defer func(rate int) { runtime.MemProfileRate = rate }(runtime.MemProfileRate)
	runtime.MemProfileRate = 1
	before := allocSites()
	allocs := testing.AllocsPerRun(40, func() {
		n, err := sub.Recv(pkts)
		if err != nil && recvErr == nil {
			recvErr = err
		}
		received += n
	})
	after := allocSites()
	if recvErr != nil {
		t.Fatal(recvErr)
	}
	t.Logf("Recv into a reused []Packet: %.2f allocations per sample (%d samples of %d bytes)", allocs, received, len(pkts[0].Data))
	if received != 41 || allocs > 1 {
		t.Errorf("%v allocations per Recv of one sample (%d received), want at most 1", allocs, received)
		for site, n := range after {
			if n > before[site] && strings.Contains(site, "psample.(*Sub)") {
				t.Logf("%d allocations at %s", n-before[site], site)
			}
		}
	}

	// RecvInto a reused buffer: no allocation at all.
	buf := make([]byte, 4096)
	received = 0
	allocs = testing.AllocsPerRun(40, func() {
		n, err := sub.RecvInto(pkts, buf)
		if err != nil && recvErr == nil {
			recvErr = err
		}
		received += n
	})
	if recvErr != nil {
		t.Fatal(recvErr)
	}
	t.Logf("RecvInto a reused []Packet and buffer: %.2f allocations per sample (%d samples)", allocs, received)
	if received != 41 || allocs != 0 || &pkts[0].Data[0] != &buf[0] {
		t.Errorf("%v allocations per RecvInto of one sample (%d received), want 0 and Data in buf", allocs, received)
	}
}

// allocSites counts the allocations profiled so far by call stack (runtime.MemProfile).
func allocSites() map[string]int64 {
	runtime.GC()
	records := make([]runtime.MemProfileRecord, 1024)
	n, ok := runtime.MemProfile(records, true)
	for !ok {
		records = make([]runtime.MemProfileRecord, n+128)
		n, ok = runtime.MemProfile(records, true)
	}
	sites := map[string]int64{}
	for _, r := range records[:n] {
		var b strings.Builder
		frames := runtime.CallersFrames(r.Stack())
		for f, more := frames.Next(); ; f, more = frames.Next() {
			fmt.Fprintf(&b, " <- %s:%d", f.Function, f.Line)
			if !more {
				break
			}
		}
		sites[b.String()] += r.AllocObjects
	}
	return sites
}

// udpPayload returns the payload of an Ethernet/IPv4/UDP frame sent to 127.0.0.1:port, or nil.
func udpPayload(frame []byte, port int) []byte {
	const ethLen, ethIPv4, protoUDP = 14, 0x0800, 17
	if len(frame) < ethLen+20 || binary.BigEndian.Uint16(frame[12:14]) != ethIPv4 {
		return nil
	}
	ip := frame[ethLen:]
	ihl := int(ip[0]&0x0f) * 4
	if ip[0]>>4 != 4 || ihl < 20 || len(ip) < ihl+8 || ip[9] != protoUDP ||
		!bytes.Equal(ip[16:20], []byte{127, 0, 0, 1}) {
		return nil
	}
	udp := ip[ihl:]
	udpLen := int(binary.BigEndian.Uint16(udp[4:6]))
	if int(binary.BigEndian.Uint16(udp[2:4])) != port || udpLen < 8 || udpLen > len(udp) {
		return nil
	}
	return udp[8:udpLen]
}

// Wakeup ends a Recv parked in the poller (the library's wake-up makes psample_poll_fd
// readable), and one sent before the Recv starts; with samples queued, it comes before them
// and they stay for the next Recv. The wake-up latency is logged (go test -v).
func TestVMWakeup(t *testing.T) {
	inVM(t)
	sub, err := Subscribe(&Options{Groups: []uint32{idleGroup}})
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Close()
	pkts := make([]Packet, 16)
	type result struct {
		err error
		at  time.Time
	}
	var latencies []time.Duration
	for round := 0; round < 10; round++ {
		done := make(chan result, 1)
		go func() {
			_, err := sub.Recv(pkts)
			done <- result{err, time.Now()}
		}()
		waitParked(t, 1)
		start := time.Now()
		if err := sub.Wakeup(); err != nil {
			t.Fatal(err)
		}
		select {
		case r := <-done:
			if !errors.Is(r.err, ErrWakeup) {
				t.Fatalf("round %d: Recv after Wakeup: %v, want ErrWakeup", round, r.err)
			}
			latencies = append(latencies, r.at.Sub(start))
		case <-time.After(5 * time.Second):
			t.Fatalf("round %d: a parked Recv did not return within 5 s of Wakeup", round)
		}
	}
	sort.Slice(latencies, func(i, j int) bool { return latencies[i] < latencies[j] })
	t.Logf("go Wakeup -> parked Recv returned ErrWakeup, 10 rounds: min %v, median %v, max %v",
		latencies[0], latencies[5], latencies[9])
	if latencies[9] > time.Second {
		t.Errorf("wake-up latency up to %v, want < 1 s", latencies[9])
	}

	if err := sub.Wakeup(); err != nil { // before the Recv
		t.Fatal(err)
	}
	start := time.Now()
	if _, err := sub.Recv(pkts); !errors.Is(err, ErrWakeup) || time.Since(start) > time.Second {
		t.Errorf("Recv after an earlier Wakeup: %v after %v, want ErrWakeup at once", err, time.Since(start))
	}
	t.Logf("go Wakeup before Recv: Recv returned ErrWakeup after %v", time.Since(start))

	// Samples queued (tc samples on egress as the datagram is sent: 200 at rate 10), then a
	// wake-up: it comes first, and the samples stay for the next Recv.
	sampled, err := Subscribe(&Options{Groups: []uint32{7}})
	if err != nil {
		t.Fatal(err)
	}
	defer sampled.Close()
	udp := newUDPSink(t)
	if _, err := udp.send([]byte("queued before the wake-up"), 200, nil); err != nil {
		t.Fatal(err)
	}
	if err := sampled.Wakeup(); err != nil {
		t.Fatal(err)
	}
	if _, err := sampled.Recv(pkts); !errors.Is(err, ErrWakeup) {
		t.Fatalf("Recv with samples queued after Wakeup: %v, want ErrWakeup first", err)
	}
	if err := sampled.SetReadDeadline(time.Now().Add(5 * time.Second)); err != nil {
		t.Fatal(err)
	}
	n, err := sampled.Recv(pkts)
	if err != nil || n == 0 || !bytes.Equal(udpPayload(pkts[0].Data, udp.port), []byte("queued before the wake-up")) {
		t.Fatalf("Recv after the wake-up: %d, %v; want the queued samples", n, err)
	}
	if st, err := sampled.Stats(); err != nil || st.KernelDrops != 0 {
		t.Errorf("Stats() = %+v, %v; want no drops", st, err)
	}
}
