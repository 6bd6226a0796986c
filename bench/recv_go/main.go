// Command recv_go is the benchmark receiver of the Go binding (bench/in-vm.sh, receiver "go"):
// bench/recv_psample.c's loop in Go. psample.Subscribe(nil), then RecvInto a reused []Packet
// of 64 (the handle's default batch is 16, so a call returns at most 16) and a reused byte
// buffer, the binding's zero-allocation path (no garbage per sample for the GC); every
// packet's group, sequence number and data are read and the data touched, as bench.h's
// touch_sample does. Stop rule as bench.h: after SIGUSR1 (the sender finished), the first 1 s
// tick that saw no new sample ends the run (600 s at most). Prints "ready pid=N" once
// subscribed, then one "result ..." line in bench.h's format.
package main

import (
	"errors"
	"fmt"
	"os"
	"os/signal"
	"sync/atomic"
	"syscall"
	"time"

	"example.org/psample"
)

type touch struct{ bytes, sum, seqXor, otherGroup uint64 }

func (t *touch) sample(p *psample.Packet) {
	if p.Group != 7 {
		t.otherGroup++
	}
	t.seqXor ^= uint64(p.GroupSeq)
	t.bytes += uint64(len(p.Data))
	if n := len(p.Data); n > 0 {
		t.sum += uint64(p.Data[0]) + uint64(p.Data[n-1])
	}
}

func cpuNs() (cpu, user uint64) {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	user = uint64(ru.Utime.Nano())
	return user + uint64(ru.Stime.Nano()), user
}

func main() {
	sub, err := psample.Subscribe(nil)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	defer sub.Close()
	var received atomic.Uint64
	usr1 := make(chan os.Signal, 1)
	signal.Notify(usr1, syscall.SIGUSR1)
	// The stop rule: wakes the receive loop through the read deadline.
	go func() {
		senderDone, last := false, uint64(0)
		tick := time.NewTicker(time.Second)
		for ticks := 1; ; ticks++ {
			select {
			case <-usr1:
				senderDone = true
				continue
			case <-tick.C:
			}
			now := received.Load()
			if (senderDone && now == last) || ticks >= 600 {
				_ = sub.SetReadDeadline(time.Unix(1, 0))
				return
			}
			last = now
		}
	}()
	fmt.Printf("ready pid=%d\n", os.Getpid())
	pkts := make([]psample.Packet, 64)
	// Room for a full batch of the largest frames the benchmark samples (trunc 1500) with their
	// cookies; a batch that does not fit is still received, into a new allocation.
	buf := make([]byte, 0, len(pkts)*2048)
	var t touch
	var calls, errs uint64
	cpu0, user0 := cpuNs()
	wall0 := time.Now()
	for {
		n, err := sub.RecvInto(pkts, buf)
		if errors.Is(err, os.ErrDeadlineExceeded) {
			break
		}
		if err != nil {
			if errs++; errs < 10 {
				fmt.Fprintln(os.Stderr, err)
			}
			continue
		}
		calls++
		for i := range pkts[:n] {
			t.sample(&pkts[i])
		}
		received.Add(uint64(n))
	}
	cpu1, user1 := cpuNs()
	wall := time.Since(wall0)
	st, err := sub.Stats()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
	}
	if st.Delivered != received.Load() {
		fmt.Fprintf(os.Stderr, "stats.delivered %d != received %d\n", st.Delivered, received.Load())
	}
	fmt.Printf("result rx=go received=%d cpu_ns=%d user_ns=%d wall_ns=%d calls=%d kernel_drops=%d seq_gaps=%d "+
		"enobufs=%d rcvbuf=%d bytes=%d other_group=%d check=%d\n",
		received.Load(), cpu1-cpu0, user1-user0, wall.Nanoseconds(), calls, st.KernelDrops, st.SeqGaps,
		st.ENOBUFS, st.Rcvbuf, t.bytes, t.otherGroup, t.sum^t.seqXor)
}
