package psample_test

import (
	"fmt"
	"log"

	"example.org/psample"
)

// Receive group 7's samples, 64 at a time. Each Packet owns its data: keep what you like.
func Example() {
	sub, err := psample.Subscribe(&psample.Options{Groups: []uint32{7}})
	if err != nil {
		log.Fatal(err) // without psample: "psample subscribe: ... (modprobe psample, ...)"
	}
	defer sub.Close()
	pkts := make([]psample.Packet, 64)
	for {
		n, err := sub.Recv(pkts)
		if err != nil {
			log.Fatal(err)
		}
		for _, p := range pkts[:n] {
			fmt.Printf("group %d seq %d: %d of %d bytes, 1 in %d, out ifindex %d\n",
				p.Group, p.GroupSeq, len(p.Data), p.OrigSize, p.EffectiveRate(), p.OutIfindex)
		}
	}
}
