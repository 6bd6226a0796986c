"""Benchmark receiver of the Python binding (bench/in-vm.sh, receiver "py"): bench/recv_psample.c's
loop in Python. psample.subscribe() with defaults, blocking recv() in a loop (a batch of at most
16, the handle's default); every packet's group, sequence number and data are read and the data
touched, as bench/bench.h's touch_sample does.

Stop rule as bench.h: after SIGUSR1 (the sender finished), the first 1 s tick (SIGALRM) that saw
no new sample ends the run (600 s at most). Python installs its handlers without SA_RESTART, so
the tick interrupts a blocked psample_recv(); the binding retries EINTR in Python code, where the
handler runs and raises. Prints "ready pid=N" once subscribed, then one "result ..." line in
bench.h's format.

    PYTHONPATH=bindings/python/src PSAMPLE_LIBRARY=.../libpsample.so python3 bench/recv_py.py
"""

import os
import resource
import signal
import sys
import time

import psample

MAX_SECONDS = 600


class Stop(Exception):
    pass


def main() -> int:
    sub = psample.subscribe()
    state = {"sender_done": False, "last": 0, "ticks": 0, "received": 0}

    def on_usr1(_sig, _frame):
        state["sender_done"] = True

    def on_alarm(_sig, _frame):
        now = state["received"]
        state["ticks"] += 1
        if (state["sender_done"] and now == state["last"]) or state["ticks"] >= MAX_SECONDS:
            raise Stop()
        state["last"] = now

    signal.signal(signal.SIGUSR1, on_usr1)
    signal.signal(signal.SIGALRM, on_alarm)
    print(f"ready pid={os.getpid()}", flush=True)
    signal.setitimer(signal.ITIMER_REAL, 1.0, 1.0)
    total = sum_ = seq_xor = other_group = calls = received = 0
    ru0 = resource.getrusage(resource.RUSAGE_SELF)
    wall0 = time.monotonic_ns()
    try:
        while True:
            batch = sub.recv()
            calls += 1
            for pkt in batch:
                if pkt.group != 7:
                    other_group += 1
                seq_xor ^= pkt.group_seq
                data = pkt.data
                total += len(data)
                if data:
                    sum_ += data[0] + data[-1]
            received += len(batch)
            state["received"] = received
    except Stop:
        pass
    signal.setitimer(signal.ITIMER_REAL, 0)
    ru1 = resource.getrusage(resource.RUSAGE_SELF)
    wall = time.monotonic_ns() - wall0
    user = round((ru1.ru_utime - ru0.ru_utime) * 1e9)
    cpu = user + round((ru1.ru_stime - ru0.ru_stime) * 1e9)
    st = sub.stats()
    if st.delivered != received:
        print(f"stats.delivered {st.delivered} != received {received}", file=sys.stderr)
    print(f"result rx=py received={received} cpu_ns={cpu} user_ns={user} wall_ns={wall} calls={calls} "
          f"kernel_drops={st.kernel_drops} seq_gaps={st.seq_gaps} enobufs={st.enobufs} rcvbuf={st.rcvbuf} "
          f"bytes={total} other_group={other_group} check={sum_ ^ seq_xor}", flush=True)
    sub.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
