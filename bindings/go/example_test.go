package psample_test

import (
	"context"
	"fmt"
	"log"
	"os"
	"os/signal"

	"example.org/psample"
)

// Receive group 7's samples, up to 64 at a time, until Ctrl-C. The wait is in Go's poller:
// no OS thread is held while no sample comes. Each Packet owns its data: keep what you like.
func Example() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	sub, err := psample.Subscribe(&psample.Options{Groups: []uint32{7}})
	if err != nil {
		log.Fatal(err) // without psample: "psample subscribe: ... (modprobe psample, ...)"
	}
	defer sub.Close()
	pkts := make([]psample.Packet, 64)
	for {
		n, err := sub.RecvContext(ctx, pkts)
		if ctx.Err() != nil {
			return // interrupted
		}
		if err != nil {
			log.Fatal(err)
		}
		for _, p := range pkts[:n] {
			fmt.Printf("%v group %d seq %d: %d of %d bytes, 1 in %d, out ifindex %d\n",
				p.Kind, p.Group, p.GroupSeq, len(p.Data), p.OrigSize, p.EffectiveRate(), p.OutIfindex)
		}
	}
}

// Stop a receiver from another goroutine: Close wakes its Recv with net.ErrClosed.
func ExampleSub_Close() {
	sub, err := psample.Subscribe(nil)
	if err != nil {
		log.Fatal(err)
	}
	done := make(chan error)
	go func() {
		_, err := sub.Recv(make([]psample.Packet, 16))
		done <- err // errors.Is(err, net.ErrClosed)
	}()
	sub.Close()
	fmt.Println(<-done)
}
