package psample

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"os"
	"syscall"
	"testing"
	"time"
)

// Needs psample and a network namespace whose loopback egress is sampled at rate 10 into group
// 7, truncated at 1500 bytes: tests/vm/bindings-tests.sh sets that up in the VM (tests/vm/vm-run
// sets PSAMPLE_IN_VM). Traffic: UDP to 127.0.0.1 only, at most 2000 datagrams in 20 s.
func TestVMLoopbackSample(t *testing.T) {
	if os.Getenv("PSAMPLE_IN_VM") == "" {
		t.Skip("needs psample and a sampled loopback: runs in the VM (tests/vm/bindings-tests.sh)")
	}
	lo, err := net.InterfaceByName("lo")
	if err != nil {
		t.Fatal(err)
	}
	sub, err := Subscribe(&Options{Flags: FlagNonblock, Groups: []uint32{7}})
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Close()
	if sub.Fd() < 0 {
		t.Errorf("Fd() = %d", sub.Fd())
	}

	// A bound receiver, so no ICMP port unreachable follows each datagram.
	sink, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer sink.Close()
	port := sink.LocalAddr().(*net.UDPAddr).Port
	conn, err := net.DialUDP("udp4", nil, sink.LocalAddr().(*net.UDPAddr))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	magic := []byte(fmt.Sprintf("psample-go-magic-%d", os.Getpid()))

	// recvMatch sends datagrams, one at a time, until a sample of one of them arrives.
	sent := 0
	recvMatch := func() (Packet, bool) {
		pkts := make([]Packet, 16)
		deadline := time.Now().Add(20 * time.Second)
		for time.Now().Before(deadline) {
			if sent < 2000 {
				if _, err := conn.Write(magic); err != nil {
					t.Fatal(err)
				}
				sent++
			} else {
				time.Sleep(10 * time.Millisecond) // all sent: wait for a late sample
			}
			n, err := sub.Recv(pkts)
			if errors.Is(err, syscall.EAGAIN) {
				continue
			}
			if err != nil {
				t.Fatal(err)
			}
			for _, p := range pkts[:n] {
				if p.OutIfindex == uint32(lo.Index) && bytes.Equal(udpPayload(p.Data, port), magic) {
					return p, true
				}
			}
		}
		return Packet{}, false
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
