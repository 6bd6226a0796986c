#!/usr/bin/env bash
# Builds what the VM tests run, into build/vm/: the library (debug build, with its SONAME link),
# the C test programs and the test tools (tests/tools/). Runs on the host.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"
# The tokio tool first: building it builds the library with the feature, and the plain build
# after it leaves target/debug/libpsample.so as the C programs get it, without tokio.
cargo build --quiet --features tokio --example tokio_cancel
cargo build --quiet --lib --example inject --example alloc_check
out=build/vm
target=${CARGO_TARGET_DIR:-$root/target}
tests/stage-lib.sh "$target/debug/libpsample.so" "$out/lib"
cp "$target/debug/examples/inject" "$target/debug/examples/alloc_check" "$target/debug/examples/tokio_cancel" "$out/"
for prog in e2e features faults; do
    cc -std=c11 -D_GNU_SOURCE -Wall -Wextra -Werror -g -I include "tests/vm/$prog.c" \
        -L "$out/lib" -lpsample -Wl,-rpath,"$root/$out/lib" -o "$out/$prog"
done
# Open vSwitch as a producer (ovs-tests.sh); libm for the binomial bound on sampled counts.
cc -std=c11 -D_GNU_SOURCE -Wall -Wextra -Werror -g -I include tests/vm/ovs-samples.c \
    -L "$out/lib" -lpsample -lm -Wl,-rpath,"$root/$out/lib" -o "$out/ovs-samples"
# The end-to-end test again under AddressSanitizer (with LeakSanitizer): the library's copies into
# the caller's arrays go through the intercepted memcpy and its allocations through malloc.
cc -std=c11 -D_GNU_SOURCE -Wall -Wextra -Werror -g -fsanitize=address -fno-omit-frame-pointer -I include \
    tests/vm/e2e.c -L "$out/lib" -lpsample -Wl,-rpath,"$root/$out/lib" -o "$out/e2e-asan"
