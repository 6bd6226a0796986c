package psample

import (
	"context"
	"encoding/binary"
	"errors"
	"io/fs"
	"net"
	"net/netip"
	"os"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
	"unsafe"
)

// The host has no psample module, so these tests see what a user without it sees.

func TestNoPsample(t *testing.T) {
	if _, err := os.Stat("/sys/module/psample"); err == nil {
		t.Skip("psample is loaded here: cannot test its absence")
	}
	sub, err := Subscribe(nil)
	if sub != nil || !errors.Is(err, syscall.ENOENT) || !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("Subscribe(nil) = %v, %v; want ENOENT", sub, err)
	}
	var perr *Error
	if !errors.As(err, &perr) || perr.Op != "subscribe" || perr.Errno != syscall.ENOENT {
		t.Fatalf("error %#v is not a *Error{subscribe, ENOENT}", err)
	}
	if !strings.Contains(err.Error(), "modprobe psample") || !strings.HasPrefix(err.Error(), "psample subscribe: ") {
		t.Errorf("error text %q", err)
	}
	// Options are fine: ENOENT still.
	_, err = Subscribe(&Options{Flags: FlagNonblock | FlagConfigEvents, Groups: []uint32{1, 2, 3}, Batch: 4})
	if !errors.Is(err, syscall.ENOENT) {
		t.Errorf("Subscribe with options: %v", err)
	}
	if groups, err := ListGroups(nil); !errors.Is(err, syscall.ENOENT) {
		t.Errorf("ListGroups = %v, %v; want ENOENT", groups, err)
	}
}

func TestInvalidOptions(t *testing.T) {
	devnull, err := os.Open(os.DevNull)
	if err != nil {
		t.Fatal(err)
	}
	defer devnull.Close()
	tooMany := make([]uint32, MaxGroups+1)
	for _, tc := range []struct {
		name string
		opts Options
		want syscall.Errno
	}{
		{"unknown flag", Options{Flags: 1 << 30}, syscall.EINVAL},
		{"batch too large", Options{Batch: MaxBatch + 1}, syscall.EINVAL},
		{"rcvbuf too large", Options{Rcvbuf: MaxRcvbuf + 1}, syscall.EINVAL},
		{"too many groups", Options{Groups: tooMany}, syscall.EINVAL},
		{"no samples and no events", Options{Flags: FlagNoSamples}, syscall.EINVAL},
		{"negative netns fd", Options{Flags: FlagNetnsFD, NetnsFD: -1}, syscall.EBADF},
		{"netns fd not a namespace", Options{Flags: FlagNetnsFD, NetnsFD: int(devnull.Fd())}, syscall.EBADF},
	} {
		sub, err := Subscribe(&tc.opts)
		if sub != nil || !errors.Is(err, tc.want) {
			t.Errorf("%s: Subscribe = %v, %v; want %v", tc.name, sub, err, tc.want)
		}
	}
	if _, err := ListGroups(&Options{Flags: FlagNetnsFD, NetnsFD: -1}); !errors.Is(err, syscall.EBADF) {
		t.Errorf("ListGroups with a bad netns fd: %v", err)
	}
}

func TestVersion(t *testing.T) {
	cargo, err := os.ReadFile("../../Cargo.toml")
	if err != nil {
		t.Fatal(err)
	}
	want := regexp.MustCompile(`(?m)^version = "(.*)"`).FindSubmatch(cargo)
	if want == nil || Version() != string(want[1]) {
		t.Fatalf("Version() = %q, Cargo.toml says %q", Version(), want)
	}
}

// native is the host's byte order, which netlink uses (Go 1.19 has no binary.NativeEndian).
var native binary.ByteOrder = binary.LittleEndian

func init() {
	x := uint16(1)
	if *(*byte)(unsafe.Pointer(&x)) == 0 {
		native = binary.BigEndian
	}
}

// nla is one netlink attribute, padded to 4 bytes.
func nla(typ uint16, payload []byte) []byte {
	b := make([]byte, 4, 4+len(payload)+3)
	native.PutUint16(b[0:], uint16(4+len(payload)))
	native.PutUint16(b[2:], typ)
	b = append(b, payload...)
	return append(b, make([]byte, (4-len(payload)%4)%4)...)
}

func u16(v uint16) []byte { b := make([]byte, 2); native.PutUint16(b, v); return b }
func u32(v uint32) []byte { b := make([]byte, 4); native.PutUint32(b, v); return b }
func u64(v uint64) []byte { b := make([]byte, 8); native.PutUint64(b, v); return b }

func cat(parts ...[]byte) []byte {
	var b []byte
	for _, p := range parts {
		b = append(b, p...)
	}
	return b
}

// genlMsg is a generic netlink message of type typ: psample's family id is dynamic, and Decode
// takes any type above nlctrl's 0x10 for it.
func genlMsg(typ uint16, cmd byte, attrs ...[]byte) []byte {
	body := cat(append([][]byte{{cmd, 1, 0, 0}}, attrs...)...)
	hdr := make([]byte, 16)
	native.PutUint32(hdr[0:], uint32(16+len(body)))
	native.PutUint16(hdr[4:], typ)
	return append(hdr, body...)
}

func TestDecode(t *testing.T) {
	frame := []byte("\x00\x01\x02\x03 a sampled frame")
	cookie := []byte{0xde, 0xad, 0xbe, 0xef, 1, 2, 3, 4}
	geneve := []byte{1, 2, 3, 4, 5, 6, 7, 8}
	tunnel := cat(
		nla(0, binary.BigEndian.AppendUint64(nil, 0x123456)), // id
		nla(1, []byte{127, 0, 0, 1}),                         // IPv4 source
		nla(2, []byte{127, 0, 0, 2}),                         // IPv4 destination
		nla(3, []byte{0x10}),                                 // TOS
		nla(4, []byte{64}),                                   // TTL
		nla(5, nil),                                          // don't fragment
		nla(8, geneve),                                       // Geneve options
		nla(10, binary.BigEndian.AppendUint16(nil, 6081)),    // destination port
	)
	msg := genlMsg(0x1d, 0, // PSAMPLE_CMD_SAMPLE
		nla(0, u16(3)), nla(1, u16(4)), nla(2, u32(1514)), nla(3, u32(7)), nla(4, u32(42)),
		nla(5, u32(^uint32(0)/100)), nla(6, frame), nla(8, tunnel), nla(10, u16(5)),
		nla(11, u64(4096)), nla(12, u64(900)), nla(13, u64(1_700_000_000_000_000_000)),
		nla(14, u16(0x0800)), nla(15, cookie), nla(16, nil))
	p, err := Decode(msg)
	if err != nil {
		t.Fatal(err)
	}
	wantFields := FieldIIfindex | FieldOIfindex | FieldOrigSize | FieldSampleGroup | FieldGroupSeq |
		FieldSampleRate | FieldData | FieldTunnel | FieldOutTC | FieldOutTCOcc | FieldLatency |
		FieldTimestamp | FieldProto | FieldUserCookie | FieldSampleProbability
	if p.Fields != wantFields || p.Kind != KindSample || p.Flags != 0 || p.InIfindex != 3 || p.OutIfindex != 4 ||
		p.OrigSize != 1514 || p.Group != 7 || p.GroupSeq != 42 || p.Rate != ^uint32(0)/100 || p.OutTC != 5 ||
		p.OutTCOcc != 4096 || p.LatencyNs != 900 || p.TimestampNs != 1_700_000_000_000_000_000 ||
		p.Proto != 0x0800 || p.NSID != -1 || p.SenderPortID != 0 || p.GroupRefcount != 0 {
		t.Errorf("decoded %+v", p)
	}
	if string(p.Data) != string(frame) || string(p.UserCookie) != string(cookie) {
		t.Errorf("data %q cookie %x", p.Data, p.UserCookie)
	}
	if r := p.EffectiveRate(); r != 100 {
		t.Errorf("EffectiveRate() = %d, want 100", r)
	}
	tun := p.Tunnel
	wantTun := TunnelID | TunnelIPv4Src | TunnelIPv4Dst | TunnelTOS | TunnelTTL | TunnelDontFragment |
		TunnelGeneveOpts | TunnelTPDst
	if tun == nil || tun.Fields != wantTun || tun.ID != 0x123456 || tun.IPv4Src != netip.MustParseAddr("127.0.0.1") ||
		tun.IPv4Dst != netip.MustParseAddr("127.0.0.2") || tun.IPv6Src.IsValid() || tun.TOS != 0x10 || tun.TTL != 64 ||
		tun.TPDst != 6081 || tun.TPSrc != 0 || string(tun.GeneveOpts) != string(geneve) || tun.ErspanOpts != nil {
		t.Errorf("tunnel %+v", tun)
	}

	// A group event: no data, no tunnel.
	ev, err := Decode(genlMsg(0x1d, 2, nla(3, u32(9)), nla(7, u32(1))))
	if err != nil || ev.Kind != KindGroupCreated || ev.Group != 9 || ev.GroupRefcount != 1 || ev.Data != nil ||
		ev.UserCookie != nil || ev.Tunnel != nil || ev.EffectiveRate() != 0 {
		t.Errorf("group event: %+v, %v", ev, err)
	}

	for _, tc := range []struct {
		name string
		msg  []byte
		want syscall.Errno
	}{
		{"empty", nil, syscall.EBADMSG},
		{"short header", msg[:10], syscall.EBADMSG},
		{"cut message", msg[:len(msg)-4], syscall.EBADMSG},
		{"bad attribute size", genlMsg(0x1d, 0, nla(3, u16(7))), syscall.EBADMSG},
		{"nlctrl message", genlMsg(0x10, 1), syscall.ENOMSG},
		{"unknown command", genlMsg(0x1d, 99), syscall.ENOMSG},
	} {
		if _, err := Decode(tc.msg); !errors.Is(err, tc.want) {
			t.Errorf("%s: Decode = %v, want %v", tc.name, err, tc.want)
		}
	}
}

func TestEffectiveRate(t *testing.T) {
	for _, tc := range []struct {
		p    Packet
		want uint32
	}{
		{Packet{Rate: 1000}, 1000},
		{Packet{Fields: FieldSampleProbability, Rate: ^uint32(0)}, 1},
		{Packet{Fields: FieldSampleProbability, Rate: 0}, 0},
	} {
		if got := tc.p.EffectiveRate(); got != tc.want {
			t.Errorf("%+v: EffectiveRate() = %d, want %d", tc.p, got, tc.want)
		}
	}
}

func TestClosedSub(t *testing.T) {
	s := waitFamilySub(t, 0) // a live handle, then closed
	if err := s.Close(); err != nil {
		t.Errorf("Close: %v", err)
	}
	if err := s.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	if _, err := s.Recv(make([]Packet, 1)); err != ErrClosed || !errors.Is(err, net.ErrClosed) || !errors.Is(err, fs.ErrClosed) {
		t.Errorf("Recv after Close: %v", err)
	}
	if _, err := s.RecvContext(context.Background(), make([]Packet, 1)); err != ErrClosed {
		t.Errorf("RecvContext after Close: %v", err)
	}
	if err := s.SetReadDeadline(time.Now()); err != ErrClosed {
		t.Errorf("SetReadDeadline after Close: %v", err)
	}
	if _, err := s.Stats(); err != ErrClosed {
		t.Errorf("Stats after Close: %v", err)
	}
	if _, err := s.GroupStats(); err != ErrClosed {
		t.Errorf("GroupStats after Close: %v", err)
	}
	if err := s.Wakeup(); err != ErrClosed {
		t.Errorf("Wakeup after Close: %v", err)
	}
	if fd := s.Fd(); fd != -1 {
		t.Errorf("Fd after Close: %d", fd)
	}
}

func TestStrings(t *testing.T) {
	for _, tc := range []struct {
		v    interface{ String() string }
		want string
	}{
		{KindSample, "Sample"},
		{KindGroupDeleted, "GroupDeleted"},
		{Kind(9), "Kind(9)"},
		{PacketFlags(0), "0"},
		{PacketTruncated | PacketUserspace, "Truncated|Userspace"},
		{PacketUserspace | 1<<20, "Userspace|0x100000"},
		{FieldOIfindex | FieldData | FieldSampleProbability, "OIfindex|Data|SampleProbability"},
		{FlagNonblock | FlagConfigEvents, "Nonblock|ConfigEvents"},
		{TunnelID | TunnelIPv6Dst, "ID|IPv6Dst"},
	} {
		if got := tc.v.String(); got != tc.want {
			t.Errorf("%T(%d).String() = %q, want %q", tc.v, tc.v, got, tc.want)
		}
	}
}

func TestOVSCookie(t *testing.T) {
	p := Packet{UserCookie: []byte{0, 0, 0x01, 0x02, 0xaa, 0xbb, 0xcc, 0xdd}}
	if d, pt, ok := p.OVSCookie(); !ok || d != 0x0102 || pt != 0xaabbccdd {
		t.Errorf("OVSCookie() = %#x, %#x, %v", d, pt, ok)
	}
	for _, c := range [][]byte{nil, {1, 2, 3, 4}, make([]byte, 16)} {
		p := Packet{UserCookie: c}
		if d, pt, ok := p.OVSCookie(); ok || d != 0 || pt != 0 {
			t.Errorf("cookie %x: OVSCookie() = %d, %d, %v; want not ok", c, d, pt, ok)
		}
	}
}

// sampleMsg is a sample message as the kernel sends it for a tc sampler, with a user cookie
// and, when tunnel is set, a tunnel key.
func sampleMsg(seq uint32, frame []byte, tunnel bool) []byte {
	attrs := [][]byte{nla(1, u16(1)), nla(2, u32(uint32(len(frame)))), nla(3, u32(7)), nla(4, u32(seq)),
		nla(5, u32(10)), nla(13, u64(1)), nla(14, u16(0x0800)), nla(6, frame), nla(15, []byte("cookie08"))}
	if tunnel {
		attrs = append(attrs, nla(8, cat(nla(0, binary.BigEndian.AppendUint64(nil, 5)), nla(8, []byte{1, 2, 3, 4}))))
	}
	return genlMsg(0x1d, 0, attrs...)
}

// Recv's conversion (copyOut) on a full batch decoded by the library: one allocation for all
// the batch's bytes, none per record, when the caller reuses its []Packet. The VM test
// TestVMRecvAllocs measures Recv itself.
func TestCopyOutAllocs(t *testing.T) {
	const batch = 16
	frame := make([]byte, 1500)
	for _, tc := range []struct {
		name   string
		tunnel bool
		want   float64
	}{{"samples", false, 1}, {"samples with tunnels", true, 2}} {
		msgs := make([][]byte, batch)
		for i := range msgs {
			msgs[i] = sampleMsg(uint32(i), frame, tc.tunnel)
		}
		b, err := newDecodedBatch(msgs)
		if err != nil {
			t.Fatal(err)
		}
		pkts := make([]Packet, batch)
		allocs := testing.AllocsPerRun(200, func() { b.copyOut(pkts, nil) })
		t.Logf("%s: %.0f allocations per batch of %d (%.3f per sample)", tc.name, allocs, batch, allocs/batch)
		if allocs != tc.want {
			t.Errorf("%s: %v allocations per batch of %d, want %v", tc.name, allocs, batch, tc.want)
		}
		// The copies are the records', and each one's own: appending to one does not write
		// into the next.
		for i, p := range pkts {
			if p.GroupSeq != uint32(i) || len(p.Data) != len(frame) || string(p.UserCookie) != "cookie08" ||
				(p.Tunnel != nil) != tc.tunnel || cap(p.Data) != len(p.Data) {
				t.Fatalf("%s: packet %d: %+v", tc.name, i, p)
			}
		}
		_ = append(pkts[0].Data, 0xff)
		if pkts[0].UserCookie[0] != 'c' {
			t.Errorf("%s: appending to Data changed UserCookie", tc.name)
		}
		if tc.tunnel && (pkts[0].Tunnel == pkts[1].Tunnel || pkts[1].Tunnel.ID != 5 ||
			string(pkts[1].Tunnel.GeneveOpts) != "\x01\x02\x03\x04") {
			t.Errorf("%s: tunnels %+v %+v", tc.name, pkts[0].Tunnel, pkts[1].Tunnel)
		}
		b.free()
	}
}

// waitFamilySub opens a Sub that waits for the psample family (FlagWaitFamily): it opens without
// psample loaded (as on the build host) and, filtered to a group nothing samples into, receives
// nothing, so every receive's end is decided by wake-ups, deadlines and Close alone.
func waitFamilySub(t *testing.T, flags SubFlags) *Sub {
	t.Helper()
	s, err := Subscribe(&Options{Flags: FlagWaitFamily | flags, Groups: []uint32{4242}})
	if err != nil {
		t.Fatalf("Subscribe(FlagWaitFamily): %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// recvFor receives on s with a read deadline d from now; returns the time taken and the error.
func recvFor(t *testing.T, s *Sub, d time.Duration) (time.Duration, error) {
	t.Helper()
	// The clock starts before the deadline is set: a loaded VM may stall the goroutine in between.
	start := time.Now()
	if err := s.SetReadDeadline(start.Add(d)); err != nil {
		t.Fatal(err)
	}
	_, err := s.Recv(make([]Packet, 4))
	return time.Since(start), err
}

// Wakeup ends a Recv parked in the poller with ErrWakeup, once per call, also when it came before
// the Recv, and then the Sub waits again as before (its deadline in force).
func TestWakeup(t *testing.T) {
	s := waitFamilySub(t, 0)
	done := make(chan error, 1)
	go func() {
		_, err := s.Recv(make([]Packet, 4))
		done <- err
	}()
	waitParked(t, 1)
	start := time.Now()
	if err := s.Wakeup(); err != nil {
		t.Fatalf("Wakeup: %v", err)
	}
	select {
	case err := <-done:
		var perr *Error
		if !errors.Is(err, ErrWakeup) || !errors.Is(err, syscall.ECANCELED) || !errors.As(err, &perr) || perr.Op != "recv" {
			t.Errorf("Recv after Wakeup: %v, want ErrWakeup", err)
		}
		t.Logf("a parked Recv returned %v after Wakeup in %v", err, time.Since(start))
	case <-time.After(5 * time.Second):
		t.Fatal("a parked Recv did not return within 5 s of Wakeup")
	}
	// One wake-up ends one receive: the next waits until its deadline.
	if took, err := recvFor(t, s, 100*time.Millisecond); !errors.Is(err, os.ErrDeadlineExceeded) || took < 90*time.Millisecond {
		t.Errorf("Recv after the wake-up was used: %v after %v, want the deadline after 100 ms", err, took)
	}
	// Wake-ups add up, also before a Recv: three calls end three receives, not a fourth.
	for i := 0; i < 3; i++ {
		if err := s.Wakeup(); err != nil {
			t.Fatal(err)
		}
	}
	for i := 0; i < 3; i++ {
		if took, err := recvFor(t, s, 5*time.Second); !errors.Is(err, ErrWakeup) || took > time.Second {
			t.Errorf("Recv %d after three Wakeups: %v after %v, want ECANCELED at once", i, err, took)
		}
	}
	if took, err := recvFor(t, s, 100*time.Millisecond); !errors.Is(err, os.ErrDeadlineExceeded) || took < 90*time.Millisecond {
		t.Errorf("fourth Recv after three Wakeups: %v after %v, want the deadline after 100 ms", err, took)
	}
	// A RecvContext is woken the same way (without the passed deadline of the receive above).
	if err := s.SetReadDeadline(time.Time{}); err != nil {
		t.Fatal(err)
	}
	ctxDone := make(chan error, 1)
	go func() {
		_, err := s.RecvContext(context.Background(), make([]Packet, 4))
		ctxDone <- err
	}()
	waitParked(t, 1)
	if err := s.Wakeup(); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-ctxDone:
		if !errors.Is(err, ErrWakeup) {
			t.Errorf("RecvContext after Wakeup: %v, want ErrWakeup", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("a parked RecvContext did not return within 5 s of Wakeup")
	}
}

// With FlagNonblock a wake-up makes the next Recv return ErrWakeup instead of EAGAIN.
func TestWakeupNonblock(t *testing.T) {
	s := waitFamilySub(t, FlagNonblock)
	pkts := make([]Packet, 4)
	if _, err := s.Recv(pkts); !errors.Is(err, syscall.EAGAIN) {
		t.Fatalf("Recv: %v, want EAGAIN", err)
	}
	if err := s.Wakeup(); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Recv(pkts); !errors.Is(err, ErrWakeup) {
		t.Errorf("Recv after Wakeup: %v, want ErrWakeup", err)
	}
	if _, err := s.Recv(pkts); !errors.Is(err, syscall.EAGAIN) {
		t.Errorf("second Recv after one Wakeup: %v, want EAGAIN", err)
	}
}

// A Sub that received nothing follows no (namespace, group) pair.
func TestGroupStatsEmpty(t *testing.T) {
	s := waitFamilySub(t, 0)
	groups, err := s.GroupStats()
	if err != nil || len(groups) != 0 {
		t.Errorf("GroupStats() = %+v, %v; want none", groups, err)
	}
	s.Close()
	if _, err := s.GroupStats(); err != ErrClosed {
		t.Errorf("GroupStats after Close: %v", err)
	}
}

// RecvInto's conversion: the bytes go into the caller's buffer when they fit (no allocation,
// but the Tunnel records' slice), and into a new allocation when they do not.
func TestCopyOutIntoBuf(t *testing.T) {
	const batch = 16
	frame := make([]byte, 1500)
	for _, tunnel := range []bool{false, true} {
		msgs := make([][]byte, batch)
		for i := range msgs {
			msgs[i] = sampleMsg(uint32(i), frame, tunnel)
		}
		b, err := newDecodedBatch(msgs)
		if err != nil {
			t.Fatal(err)
		}
		defer b.free()
		pkts := make([]Packet, batch)
		buf := make([]byte, batch*2048)
		want := 0.0
		if tunnel {
			want = 1
		}
		if allocs := testing.AllocsPerRun(200, func() { b.copyOut(pkts, buf) }); allocs != want {
			t.Errorf("tunnel %v: %v allocations per batch into a large enough buf, want %v", tunnel, allocs, want)
		}
		for i, p := range pkts {
			start := uintptr(unsafe.Pointer(&buf[0]))
			at := uintptr(unsafe.Pointer(&p.Data[0]))
			if p.GroupSeq != uint32(i) || len(p.Data) != len(frame) || cap(p.Data) != len(p.Data) ||
				at < start || at >= start+uintptr(len(buf)) {
				t.Fatalf("tunnel %v: packet %d's Data is not a capped part of buf: %+v", tunnel, i, p)
			}
		}
		// Too small: received whole all the same, into one new allocation for the bytes.
		small := make([]byte, 100)
		if allocs := testing.AllocsPerRun(200, func() { b.copyOut(pkts, small) }); allocs != want+1 {
			t.Errorf("tunnel %v: %v allocations per batch into a small buf, want %v", tunnel, allocs, want+1)
		}
		if len(pkts[batch-1].Data) != len(frame) || &pkts[0].Data[0] == &small[0] {
			t.Errorf("tunnel %v: a batch larger than buf was not copied whole elsewhere", tunnel)
		}
	}
}

// Recv's and RecvInto's conversion alone, per sample: a batch of 16 samples of 1500 bytes (trunc
// 1500) and of 2 (the 1-2 samples per call a receiver that keeps up gets), into a reused []Packet
// (and, for RecvInto, a reused buffer).
//
//	go test -run '^$' -bench CopyOut -benchmem
func BenchmarkCopyOut(b *testing.B) {
	frame := make([]byte, 1500)
	for _, batch := range []int{2, 16} {
		b.Run(strconv.Itoa(batch), func(b *testing.B) {
			msgs := make([][]byte, batch)
			for i := range msgs {
				msgs[i] = sampleMsg(uint32(i), frame, false)
			}
			d, err := newDecodedBatch(msgs)
			if err != nil {
				b.Fatal(err)
			}
			defer d.free()
			pkts := make([]Packet, batch)
			for _, into := range []struct {
				name string
				buf  []byte
			}{{"Recv", nil}, {"RecvInto", make([]byte, batch*2048)}} {
				b.Run(into.name, func(b *testing.B) {
					b.SetBytes(int64(batch * len(frame)))
					start := time.Now()
					for i := 0; i < b.N; i++ {
						d.copyOut(pkts, into.buf)
					}
					b.ReportMetric(float64(time.Since(start).Nanoseconds())/float64(b.N*batch), "ns/sample")
				})
			}
		})
	}
}
