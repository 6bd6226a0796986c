# libpsample: cargo builds the library; this Makefile builds the C examples, installs and
# uninstalls. GNU make. `make install DESTDIR=... PREFIX=/usr` for packaging.

VERSION := $(shell sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -1)
SOMAJOR := $(firstword $(subst ., ,$(VERSION)))
$(if $(VERSION),,$(error cannot read the version from Cargo.toml))

PREFIX       ?= /usr/local
LIBDIR       ?= $(PREFIX)/lib
INCLUDEDIR   ?= $(PREFIX)/include
BINDIR       ?= $(PREFIX)/bin
MANDIR       ?= $(PREFIX)/share/man
PKGCONFIGDIR ?= $(LIBDIR)/pkgconfig
DESTDIR      ?=

# CC and CXX: make's defaults (cc, g++) unless given.
CARGO    ?= cargo
INSTALL  ?= install
CFLAGS   ?= -O2 -g
CXXFLAGS ?= -O2 -g
WARN      = -Wall -Wextra -Werror

# Cargo honours CARGO_TARGET_DIR from the environment; follow it so both agree on the outputs.
TARGET_DIR := $(or $(CARGO_TARGET_DIR),target)
RELEASE    := $(TARGET_DIR)/release
LIB_SO     := $(RELEASE)/libpsample.so
LIB_A      := $(RELEASE)/libpsample.a
# Scratch outputs (examples, psample.pc); overridable so a test can keep the tree clean.
BUILDDIR   ?= build

# What the Rust staticlib needs from the system: `cargo rustc --release --lib --crate-type
# staticlib -- --print native-static-libs` prints this list for linux-gnu targets.
LIBS_PRIVATE ?= -lgcc_s -lutil -lrt -lpthread -lm -ldl -lc

# The psample CLI writes pcap files through libpcap (Debian: libpcap-dev).
PKG_CONFIG  ?= pkg-config
PCAP_CFLAGS ?= $(shell $(PKG_CONFIG) --cflags libpcap 2>/dev/null)
PCAP_LIBS   ?= $(or $(shell $(PKG_CONFIG) --libs libpcap 2>/dev/null),-lpcap)

EXAMPLES := $(BUILDDIR)/examples/psample-dump $(BUILDDIR)/examples/raii $(BUILDDIR)/examples/psample

.PHONY: all lib examples install uninstall clean FORCE

all: lib examples

# Cargo decides what is stale, so always ask it. The libpsample.so.$(SOMAJOR) link lets the
# in-tree examples run: they record the SONAME and find it through their rpath.
# (`&:`: one cargo run makes both.)
lib: $(LIB_SO)
$(LIB_SO) $(LIB_A) &: FORCE
	$(CARGO) build --release
	ln -sf libpsample.so $(RELEASE)/libpsample.so.$(SOMAJOR)

examples: $(EXAMPLES)

# In-tree builds: linked against the cargo output, rpath to it, runnable without installing.
$(BUILDDIR)/examples/psample-dump: examples-c/psample-dump.c include/psample.h $(LIB_SO)
	@mkdir -p $(@D)
	$(CC) -std=c11 $(WARN) $(CFLAGS) -I include -o $@ $< -L $(RELEASE) -lpsample \
		-Wl,-rpath,$(abspath $(RELEASE)) $(LDFLAGS)

$(BUILDDIR)/examples/psample: examples-c/psample.c include/psample.h $(LIB_SO)
	@mkdir -p $(@D)
	$(CC) -std=c11 $(WARN) $(CFLAGS) -I include $(PCAP_CFLAGS) -o $@ $< -L $(RELEASE) -lpsample \
		$(PCAP_LIBS) -Wl,-rpath,$(abspath $(RELEASE)) $(LDFLAGS)

$(BUILDDIR)/examples/raii: examples-c/raii.cpp include/psample.h $(LIB_SO)
	@mkdir -p $(@D)
	$(CXX) -std=c++17 $(WARN) $(CXXFLAGS) -I include -o $@ $< -L $(RELEASE) -lpsample \
		-Wl,-rpath,$(abspath $(RELEASE)) $(LDFLAGS)

# The installed psample-dump is relinked for LIBDIR (the in-tree one points into target/): no
# RUNPATH for the loader's own directories, else RUNPATH (not RPATH: LD_LIBRARY_PATH still wins).
SYSTEM_LIBDIRS := /lib /lib64 /usr/lib /usr/lib64 /lib/%-linux-gnu /usr/lib/%-linux-gnu
INSTALL_RPATH  := $(if $(filter $(SYSTEM_LIBDIRS),$(LIBDIR)),,-Wl,--enable-new-dtags,-rpath,$(LIBDIR))

$(BUILDDIR)/install/psample-dump: examples-c/psample-dump.c include/psample.h $(LIB_SO) FORCE
	@mkdir -p $(@D)
	$(CC) -std=c11 $(WARN) $(CFLAGS) -I include -o $@ $< -L $(RELEASE) -lpsample \
		$(INSTALL_RPATH) $(LDFLAGS)

$(BUILDDIR)/install/psample: examples-c/psample.c include/psample.h $(LIB_SO) FORCE
	@mkdir -p $(@D)
	$(CC) -std=c11 $(WARN) $(CFLAGS) -I include $(PCAP_CFLAGS) -o $@ $< -L $(RELEASE) -lpsample \
		$(PCAP_LIBS) $(INSTALL_RPATH) $(LDFLAGS)

# Regenerated every time: it depends on PREFIX/LIBDIR/INCLUDEDIR of this invocation.
$(BUILDDIR)/psample.pc: pkgconfig/psample.pc.in FORCE
	@mkdir -p $(@D)
	sed -e 's|@PREFIX@|$(PREFIX)|g' -e 's|@LIBDIR@|$(LIBDIR)|g' \
	    -e 's|@INCLUDEDIR@|$(INCLUDEDIR)|g' -e 's|@VERSION@|$(VERSION)|g' \
	    -e 's|@LIBS_PRIVATE@|$(LIBS_PRIVATE)|g' $< > $@

install: all $(BUILDDIR)/psample.pc $(BUILDDIR)/install/psample-dump $(BUILDDIR)/install/psample
	$(INSTALL) -d $(DESTDIR)$(LIBDIR) $(DESTDIR)$(INCLUDEDIR) $(DESTDIR)$(PKGCONFIGDIR) $(DESTDIR)$(BINDIR) \
		$(DESTDIR)$(MANDIR)/man8
	$(INSTALL) -m 0755 $(LIB_SO) $(DESTDIR)$(LIBDIR)/libpsample.so.$(VERSION)
	ln -sf libpsample.so.$(VERSION) $(DESTDIR)$(LIBDIR)/libpsample.so.$(SOMAJOR)
	ln -sf libpsample.so.$(SOMAJOR) $(DESTDIR)$(LIBDIR)/libpsample.so
	$(INSTALL) -m 0644 $(LIB_A) $(DESTDIR)$(LIBDIR)/libpsample.a
	$(INSTALL) -m 0644 include/psample.h $(DESTDIR)$(INCLUDEDIR)/psample.h
	$(INSTALL) -m 0644 $(BUILDDIR)/psample.pc $(DESTDIR)$(PKGCONFIGDIR)/psample.pc
	$(INSTALL) -m 0755 $(BUILDDIR)/install/psample-dump $(DESTDIR)$(BINDIR)/psample-dump
	$(INSTALL) -m 0755 $(BUILDDIR)/install/psample $(DESTDIR)$(BINDIR)/psample
	$(INSTALL) -m 0644 examples-c/psample.8 $(DESTDIR)$(MANDIR)/man8/psample.8

# Exactly the files install puts; directories are left, they may be shared.
uninstall:
	rm -f $(DESTDIR)$(LIBDIR)/libpsample.so.$(VERSION) $(DESTDIR)$(LIBDIR)/libpsample.so.$(SOMAJOR) \
	      $(DESTDIR)$(LIBDIR)/libpsample.so $(DESTDIR)$(LIBDIR)/libpsample.a \
	      $(DESTDIR)$(INCLUDEDIR)/psample.h $(DESTDIR)$(PKGCONFIGDIR)/psample.pc \
	      $(DESTDIR)$(BINDIR)/psample-dump $(DESTDIR)$(BINDIR)/psample $(DESTDIR)$(MANDIR)/man8/psample.8

# Only this Makefile's outputs: target/ is cargo's (`cargo clean`), and shared with other work.
clean:
	rm -rf $(BUILDDIR)/examples $(BUILDDIR)/install $(BUILDDIR)/psample.pc $(RELEASE)/libpsample.so.$(SOMAJOR)

FORCE:

# test/demo targets: see below

# The demo: builds, boots Debian's 6.12 kernel (6.1 with DEMO_KERNEL=6.1) in a VM, samples loopback
# in a namespace and runs psample-dump on ten datagrams to 127.0.0.1.
DEMO_KERNEL ?= 6.12
demo: deps all
	tests/vm/vm-run $(DEMO_KERNEL) tests/vm/demo.sh

# Every test: unit, decoder vectors and properties, header drift, C ABI and install (cargo test),
# a short fuzz run, and the real-kernel tests in VMs. FUZZ_SECONDS=0 skips fuzzing.
FUZZ_SECONDS ?= 60
test: deps
	cargo test
	@if [ "$(FUZZ_SECONDS)" != 0 ]; then fuzz/run $(FUZZ_SECONDS); fi
	$(MAKE) vm-test

# The kernel matrix (.ci/install-deps installs the kernels): every suite (kernel, bindings, CLI)
# on 6.1 and on the newest kernel Debian sid carries; the kernel suite on 5.10 and 6.12. Each VM
# boot under TCG costs a minute or more, so this keeps the whole `make test` under an hour on two
# cores. A kernel that is missing or does not boot fails the run.
vm-test: deps all
	tests/vm/build.sh
	bindings/build.sh
	tests/vm/vm-run 5.10 tests/vm/kernel-tests.sh
	tests/vm/vm-run 6.1 tests/vm/kernel-tests.sh
	tests/vm/vm-run 6.1 tests/vm/bindings-tests.sh
	tests/vm/vm-run 6.1 tests/vm/cli-tests.sh
	tests/vm/vm-run 6.12 tests/vm/kernel-tests.sh
	tests/vm/vm-run newest tests/vm/kernel-tests.sh
	tests/vm/vm-run newest tests/vm/bindings-tests.sh
	tests/vm/vm-run newest tests/vm/cli-tests.sh

# The receive benchmark in a VM (about 15-20 min): results in build/bench/, docs/benchmarks.{md,png}.
bench: deps
	bench/run

# Installs what the build and the tests need when it is missing (as root; idempotent).
deps:
	@if [ "$$(id -u)" = 0 ]; then .ci/install-deps; else echo "make: not root: not installing dependencies"; fi

.PHONY: demo test vm-test bench deps
