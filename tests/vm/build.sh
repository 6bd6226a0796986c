#!/usr/bin/env bash
# Builds what the VM tests run, into build/vm/: the library (debug build, with its SONAME link),
# the C test programs and the test tools (tests/tools/). Runs on the host.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"
# The crate is an rlib: the C programs' library is the C API (`capi`) asked for as a cdylib, which
# leaves target/debug/libpsample.so, without tokio.
cargo build --quiet --features tokio --example tokio_cancel
cargo build --quiet --features capi --example inject --example alloc_check
tests/build-cdylib.sh
out=build/vm
target=${CARGO_TARGET_DIR:-$root/target}
tests/stage-lib.sh "$target/debug/libpsample.so" "$out/lib"
cp "$target/debug/examples/inject" "$target/debug/examples/alloc_check" "$target/debug/examples/tokio_cancel" "$out/"
for prog in e2e features faults; do
    cc -std=c11 -D_GNU_SOURCE -Wall -Wextra -Werror -g -I include "tests/vm/$prog.c" \
        -L "$out/lib" -lpsample -Wl,-rpath,"$root/$out/lib" -o "$out/$prog"
done
# The wake-up and system-call cases: a receiver thread, a sender thread and a waker.
cc -std=c11 -D_GNU_SOURCE -Wall -Wextra -Werror -g -I include tests/vm/wakeup.c \
    -L "$out/lib" -lpsample -lpthread -Wl,-rpath,"$root/$out/lib" -o "$out/wakeup"
# Open vSwitch as a producer (ovs-tests.sh); libm for the binomial bound on sampled counts.
cc -std=c11 -D_GNU_SOURCE -Wall -Wextra -Werror -g -I include tests/vm/ovs-samples.c \
    -L "$out/lib" -lpsample -lm -Wl,-rpath,"$root/$out/lib" -o "$out/ovs-samples"
# The nlmon round trip reads tcpdump's capture with libpcap.
cc -std=c11 -D_GNU_SOURCE -Wall -Wextra -Werror -g -I include tests/vm/nlmon_roundtrip.c \
    -L "$out/lib" -lpsample -lpcap -Wl,-rpath,"$root/$out/lib" -o "$out/nlmon_roundtrip"
# The end-to-end test again under AddressSanitizer (with LeakSanitizer): the library's copies into
# the caller's arrays go through the intercepted memcpy and its allocations through malloc.
cc -std=c11 -D_GNU_SOURCE -Wall -Wextra -Werror -g -fsanitize=address -fno-omit-frame-pointer -I include \
    tests/vm/e2e.c -L "$out/lib" -lpsample -Wl,-rpath,"$root/$out/lib" -o "$out/e2e-asan"
# The threading test under ThreadSanitizer, against a library built with -Zsanitizer=thread (its
# code calls __tsan_read*/__tsan_write*/__tsan_atomic*; std is not instrumented, as that needs
# -Zbuild-std and rust-src). Negative control, by hand: two threads inside psample_recv() on one
# handle (a contract violation) are reported as a data race in recv.rs (2 of 3 runs: only when
# the threads overlap in time), so TSan does see the library's own plain accesses. Stable rustc takes -Z flags
# with RUSTC_BOOTSTRAP=1; the ABI-mismatch check is about the uninstrumented
# std, which is what this build accepts knowingly. An explicit --target keeps the flags away from
# proc macros and build scripts (host code, loaded by the uninstrumented compiler).
host=$(rustc -vV | sed -n 's/^host: //p')
RUSTC_BOOTSTRAP=1 RUSTFLAGS="-Zsanitizer=thread -Cunsafe-allow-abi-mismatch=sanitizer" \
    tests/build-cdylib.sh --target "$host" --target-dir "$root/target/tsan"
mkdir -p "$out/lib-tsan"
cp "$root/target/tsan/$host/debug/libpsample.so" "$out/lib-tsan/libpsample.so"
ln -sf libpsample.so "$out/lib-tsan/libpsample.so.0"
clang -std=c11 -D_GNU_SOURCE -Wall -Wextra -Werror -g -O1 -fsanitize=thread -I include tests/vm/threads.c \
    tests/vm/tsan-shims.c \
    -L "$out/lib-tsan" -lpsample -Wl,-rpath,"$root/$out/lib-tsan" -lpthread -o "$out/threads-tsan"
# netdevsim, for the sflow suite's hardware records on 6.12 (builds nothing, and says why, where
# the kernel's source or headers are missing).
tests/vm/netdevsim-build.sh
