package psample

// Packets: copying received C records into Go memory, Decode, and the Packet helpers.

/*
#cgo pkg-config: psample
#include <stdlib.h>
#include <psample.h>
*/
import "C"

import (
	"strconv"
	"syscall"
	"unsafe"
)

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
