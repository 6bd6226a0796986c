module example.org/psample/bench/recv_go

go 1.19

require example.org/psample v0.0.0

replace example.org/psample => ../../bindings/go
