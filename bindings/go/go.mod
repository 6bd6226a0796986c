module example.org/psample

go 1.19
