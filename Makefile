# libpsample: cargo builds the library; this Makefile builds the psample tool and the C examples,
# installs and uninstalls, and runs the gates and tests. GNU make.
# `make install DESTDIR=... PREFIX=/usr` for packaging.

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
LIB_A      := $(RELEASE)/libpsample.a
# Scratch outputs (the shared library, examples, psample.pc); overridable so a test can keep the
# tree clean.
BUILDDIR   ?= build
# The shared library everything links and `make install` installs: cargo's staticlib relinked with
# the version script, so every psample_* symbol carries its ELF version (PSAMPLE_0.1, ...). rustc
# cannot version its own cdylib (its anonymous export script conflicts with a version script:
# abi/README.md), so target/release/libpsample.so is not used.
LIB_DIR        := $(BUILDDIR)/lib
LIB_SO         := $(LIB_DIR)/libpsample.so.$(VERSION)
VERSION_SCRIPT := abi/libpsample.map

# What the Rust staticlib needs from the system: `cargo rustc --release --lib --features capi
# --crate-type staticlib -- --print native-static-libs` prints this list for linux-gnu targets.
LIBS_PRIVATE ?= -lgcc_s -lutil -lrt -lpthread -lm -ldl -lc

# The psample tool writes pcap files (--write) through libpcap (Debian: libpcap-dev).
# PCAP=auto: with pcap when pkg-config finds libpcap; PCAP=yes: required; PCAP=no: without, and
# --write then fails with a message saying so.
PKG_CONFIG ?= pkg-config
PCAP       ?= auto
ifeq ($(PCAP),auto)
WITH_PCAP := $(if $(shell $(PKG_CONFIG) --exists libpcap 2>/dev/null && echo found),yes,no)
else ifneq ($(filter yes no,$(PCAP)),)
WITH_PCAP := $(PCAP)
else
$(error PCAP must be auto, yes or no, not "$(PCAP)")
endif
ifeq ($(WITH_PCAP),yes)
PCAP_CFLAGS ?= $(shell $(PKG_CONFIG) --cflags libpcap 2>/dev/null)
PCAP_LIBS   ?= $(or $(shell $(PKG_CONFIG) --libs libpcap 2>/dev/null),-lpcap)
TOOL_FLAGS  := -DPSAMPLE_TOOL_PCAP=1 $(PCAP_CFLAGS)
else
PCAP_LIBS   :=
TOOL_FLAGS  := -DPSAMPLE_TOOL_PCAP=0
endif

TOOL     := $(BUILDDIR)/tools/psample
# The psample tool's parts: the main loop, the command line, the printers, the pcap writer.
TOOL_SRCS := $(addprefix tools/psample/,psample.c options.c output.c pcap.c)
TOOL_DEPS := $(TOOL_SRCS) $(addprefix tools/psample/,options.h output.h pcap.h) tools/common/data_start.h
SFLOW    := $(BUILDDIR)/tools/psample-sflow
# psample-sflow's parts (tools/psample-sflow/psample-sflow.c lists them), built in one command.
SFLOW_SRCS := $(sort $(wildcard tools/psample-sflow/*.c))
SFLOW_DEPS := $(SFLOW_SRCS) $(wildcard tools/psample-sflow/*.h) tools/common/data_start.h include/psample.h
EXAMPLES := $(BUILDDIR)/examples/psample-dump $(BUILDDIR)/examples/raii

.PHONY: all lib tool sflow examples install uninstall clean FORCE abi-check abi-bless version-check

all: lib tool sflow examples

# Cargo decides what is stale, so always ask it. The links are the installed ones: in-tree
# programs link -lpsample from $(LIB_DIR), record the SONAME and find it through their rpath.
# --whole-archive keeps every exported function; --gc-sections drops what they do not reach.
lib: $(LIB_SO)
# The crate is an rlib (a Rust dependency builds no C library and no cbindgen): the C API is its
# `capi` feature, and the static library is asked for here.
$(LIB_A): FORCE
	$(CARGO) rustc --release --lib --features capi --crate-type staticlib

$(LIB_SO): $(LIB_A) $(VERSION_SCRIPT)
	@mkdir -p $(@D)
	$(CC) -shared -o $@.tmp -Wl,--whole-archive $(LIB_A) -Wl,--no-whole-archive \
		-Wl,--version-script=$(VERSION_SCRIPT) -Wl,-soname,libpsample.so.$(SOMAJOR) \
		-Wl,--gc-sections -Wl,--no-undefined -Wl,--as-needed -Wl,-z,relro,-z,now -Wl,-z,noexecstack \
		$(LDFLAGS) $(LIBS_PRIVATE)
	mv -f $@.tmp $@
	ln -sf libpsample.so.$(VERSION) $(@D)/libpsample.so.$(SOMAJOR)
	ln -sf libpsample.so.$(SOMAJOR) $(@D)/libpsample.so

tool: $(TOOL)
sflow: $(SFLOW)
examples: $(EXAMPLES)

# Rewritten only when the pcap choice changes, so the tool is rebuilt then and only then.
$(BUILDDIR)/tools/pcap.choice: FORCE
	@mkdir -p $(@D)
	@echo '$(WITH_PCAP)' | cmp -s - $@ || echo '$(WITH_PCAP)' > $@

# In-tree builds: linked against $(LIB_DIR), rpath to it, runnable without installing.
$(BUILDDIR)/examples/psample-dump: examples-c/psample-dump.c include/psample.h $(LIB_SO)
	@mkdir -p $(@D)
	$(CC) -std=c11 $(WARN) $(CFLAGS) -I include -o $@ $< -L $(LIB_DIR) -lpsample \
		-Wl,-rpath,$(abspath $(LIB_DIR)) $(LDFLAGS)

$(TOOL): $(TOOL_DEPS) include/psample.h $(LIB_SO) $(BUILDDIR)/tools/pcap.choice
	@mkdir -p $(@D)
	$(CC) -std=c11 $(WARN) $(CFLAGS) -I include $(TOOL_FLAGS) -o $@ $(TOOL_SRCS) -L $(LIB_DIR) -lpsample \
		$(PCAP_LIBS) -Wl,-rpath,$(abspath $(LIB_DIR)) $(LDFLAGS)

# psample-sflow: the sFlow v5 exporter, a program of its own (the psample tool stays the original's).
$(SFLOW): $(SFLOW_DEPS) $(LIB_SO)
	@mkdir -p $(@D)
	$(CC) -std=c11 $(WARN) $(CFLAGS) -I include -o $@ $(SFLOW_SRCS) -L $(LIB_DIR) -lpsample \
		-Wl,-rpath,$(abspath $(LIB_DIR)) $(LDFLAGS)

$(BUILDDIR)/examples/raii: examples-c/raii.cpp include/psample.h $(LIB_SO)
	@mkdir -p $(@D)
	$(CXX) -std=c++17 $(WARN) $(CXXFLAGS) -I include -o $@ $< -L $(LIB_DIR) -lpsample \
		-Wl,-rpath,$(abspath $(LIB_DIR)) $(LDFLAGS)

# The installed psample is relinked for LIBDIR (the in-tree one points into $(LIB_DIR)): no
# RUNPATH for the loader's own directories, else RUNPATH (not RPATH: LD_LIBRARY_PATH still wins).
SYSTEM_LIBDIRS := /lib /lib64 /usr/lib /usr/lib64 /lib/%-linux-gnu /usr/lib/%-linux-gnu
INSTALL_RPATH  := $(if $(filter $(SYSTEM_LIBDIRS),$(LIBDIR)),,-Wl,--enable-new-dtags,-rpath,$(LIBDIR))

$(BUILDDIR)/install/psample: $(TOOL_DEPS) include/psample.h $(LIB_SO) FORCE
	@mkdir -p $(@D)
	$(CC) -std=c11 $(WARN) $(CFLAGS) -I include $(TOOL_FLAGS) -o $@ $(TOOL_SRCS) -L $(LIB_DIR) -lpsample \
		$(PCAP_LIBS) $(INSTALL_RPATH) $(LDFLAGS)

$(BUILDDIR)/install/psample-sflow: $(SFLOW_DEPS) $(LIB_SO) FORCE
	@mkdir -p $(@D)
	$(CC) -std=c11 $(WARN) $(CFLAGS) -I include -o $@ $(SFLOW_SRCS) -L $(LIB_DIR) -lpsample $(INSTALL_RPATH) $(LDFLAGS)

# Regenerated every time: it depends on PREFIX/LIBDIR/INCLUDEDIR of this invocation.
$(BUILDDIR)/psample.pc: pkgconfig/psample.pc.in FORCE
	@mkdir -p $(@D)
	sed -e 's|@PREFIX@|$(PREFIX)|g' -e 's|@LIBDIR@|$(LIBDIR)|g' \
	    -e 's|@INCLUDEDIR@|$(INCLUDEDIR)|g' -e 's|@VERSION@|$(VERSION)|g' \
	    -e 's|@LIBS_PRIVATE@|$(LIBS_PRIVATE)|g' $< > $@

install: all $(BUILDDIR)/psample.pc $(BUILDDIR)/install/psample $(BUILDDIR)/install/psample-sflow
	$(INSTALL) -d $(DESTDIR)$(LIBDIR) $(DESTDIR)$(INCLUDEDIR) $(DESTDIR)$(PKGCONFIGDIR) $(DESTDIR)$(BINDIR) \
		$(DESTDIR)$(MANDIR)/man8
	$(INSTALL) -m 0755 $(LIB_SO) $(DESTDIR)$(LIBDIR)/libpsample.so.$(VERSION)
	ln -sf libpsample.so.$(VERSION) $(DESTDIR)$(LIBDIR)/libpsample.so.$(SOMAJOR)
	ln -sf libpsample.so.$(SOMAJOR) $(DESTDIR)$(LIBDIR)/libpsample.so
	$(INSTALL) -m 0644 $(LIB_A) $(DESTDIR)$(LIBDIR)/libpsample.a
	$(INSTALL) -m 0644 include/psample.h $(DESTDIR)$(INCLUDEDIR)/psample.h
	$(INSTALL) -m 0644 $(BUILDDIR)/psample.pc $(DESTDIR)$(PKGCONFIGDIR)/psample.pc
	$(INSTALL) -m 0755 $(BUILDDIR)/install/psample $(DESTDIR)$(BINDIR)/psample
	$(INSTALL) -m 0644 tools/psample/psample.8 $(DESTDIR)$(MANDIR)/man8/psample.8
	$(INSTALL) -m 0755 $(BUILDDIR)/install/psample-sflow $(DESTDIR)$(BINDIR)/psample-sflow
	$(INSTALL) -m 0644 tools/psample-sflow/psample-sflow.8 $(DESTDIR)$(MANDIR)/man8/psample-sflow.8

# Exactly the files install puts; directories are left, they may be shared.
uninstall:
	rm -f $(DESTDIR)$(LIBDIR)/libpsample.so.$(VERSION) $(DESTDIR)$(LIBDIR)/libpsample.so.$(SOMAJOR) \
	      $(DESTDIR)$(LIBDIR)/libpsample.so $(DESTDIR)$(LIBDIR)/libpsample.a \
	      $(DESTDIR)$(INCLUDEDIR)/psample.h $(DESTDIR)$(PKGCONFIGDIR)/psample.pc \
	      $(DESTDIR)$(BINDIR)/psample $(DESTDIR)$(MANDIR)/man8/psample.8
	rm -f $(DESTDIR)$(BINDIR)/psample-sflow $(DESTDIR)$(MANDIR)/man8/psample-sflow.8

# Only this Makefile's outputs: target/ is cargo's (`cargo clean`), and shared with other work.
clean:
	rm -rf $(LIB_DIR) $(BUILDDIR)/tools $(BUILDDIR)/examples $(BUILDDIR)/install $(BUILDDIR)/psample.pc $(BUILDDIR)/abi

FORCE:

# ABI baseline (libabigail: Debian abigail-tools). abidw describes the library from its DWARF (the
# release profile keeps full debug info for it), abidiff compares that with the committed
# abi/libpsample.abi and fails on any difference, printing its report. abi-bless records the
# current ABI (abi/README.md); it refuses anything but additions unless ABI_BREAK=1.
ABIDW        ?= abidw
ABIDIFF      ?= abidiff
ABI_BASELINE := abi/libpsample.abi
ABI_SUPPR    := abi/libpsample.suppr
ABI_ADDITIONS := abi/additions.suppr
ABI_DUMP     := $(BUILDDIR)/abi/libpsample.abi
ABIDW_FLAGS  := --no-corpus-path --no-comp-dir-path --no-show-locs --type-id-style hash --suppressions $(ABI_SUPPR)

$(ABI_DUMP): $(LIB_SO) $(ABI_SUPPR)
	@mkdir -p $(@D)
	$(ABIDW) $(ABIDW_FLAGS) --out-file $@ $(LIB_SO)

# The newest node of the version script names the release (libbpf's Makefile checks the same):
# PSAMPLE_0.3 goes with version 0.3.x in Cargo.toml. tests/abi.rs checks it too.
MAP_NEWEST := $(shell sed -n 's/^\(PSAMPLE_[0-9][0-9]*\.[0-9][0-9]*\)[[:space:]]*{.*/\1/p' $(VERSION_SCRIPT) | tail -n 1)
MAP_WANTED := PSAMPLE_$(word 1,$(subst ., ,$(VERSION))).$(word 2,$(subst ., ,$(VERSION)))
version-check:
	@if [ "$(MAP_NEWEST)" != "$(MAP_WANTED)" ]; then \
		echo "version-check: $(VERSION_SCRIPT)'s newest version node is '$(MAP_NEWEST)' but Cargo.toml's version is $(VERSION) (wants $(MAP_WANTED)): set the two together (abi/README.md)" >&2; \
		exit 1; \
	fi; echo "version-check: $(MAP_NEWEST) is version $(VERSION)"

abi-check: version-check $(ABI_DUMP)
	@rc=0; $(ABIDIFF) --suppressions $(ABI_SUPPR) $(ABI_BASELINE) $(ABI_DUMP) || rc=$$?; \
	if [ $$rc -ne 0 ]; then \
		echo "abi-check: the library's ABI differs from $(ABI_BASELINE) (abidiff exit $$rc, report above)." >&2; \
		echo "abi-check: an addition is recorded with 'make abi-bless' (abi/README.md); anything else is a break." >&2; \
		exit 1; \
	fi; echo "abi-check: the ABI matches $(ABI_BASELINE)"

# Only additions are blessed: the diff must be empty once added functions (--no-added-syms) and
# fields appended to size-passed structs (abi/additions.suppr) are left out. ABI_BREAK=1 blesses
# anything (with a SONAME bump). abidiff's exit status: 1 error, 2 usage, 4 change, 8 incompatible.
abi-bless: $(ABI_DUMP)
	@if [ -f $(ABI_BASELINE) ] && [ "$(ABI_BREAK)" != 1 ]; then \
		rc=0; $(ABIDIFF) --no-added-syms --suppressions $(ABI_SUPPR) --suppressions $(ABI_ADDITIONS) \
			$(ABI_BASELINE) $(ABI_DUMP) || rc=$$?; \
		if [ $$rc -ne 0 ]; then \
			echo "abi-bless: refused: not only additions (abidiff exit $$rc, report above). A break needs a SONAME bump and ABI_BREAK=1." >&2; \
			exit 1; \
		fi; \
	fi; \
	$(ABIDIFF) --suppressions $(ABI_SUPPR) $(ABI_BASELINE) $(ABI_DUMP) || true; \
	cp $(ABI_DUMP) $(ABI_BASELINE); echo "abi-bless: wrote $(ABI_BASELINE): commit it"

# test/demo targets: see below

# The demo: builds, boots Debian's 6.12 kernel (6.1 with DEMO_KERNEL=6.1) in a VM, samples loopback
# in a namespace and runs psample-dump on ten datagrams to 127.0.0.1.
DEMO_KERNEL ?= 6.12
demo: deps all
	tests/vm/vm-run $(DEMO_KERNEL) tests/vm/demo.sh

# Every test: the lint gates, unit, decoder vectors and properties, header drift, C ABI and install
# (cargo test --features capi: the C API's tests need it), a short fuzz run, and the real-kernel tests on 6.1 and 6.12 in VMs.
# FUZZ_SECONDS=0 skips fuzzing.
FUZZ_SECONDS ?= 60
test: deps lint
	cargo test --features capi
	$(MAKE) abi-check
	@if [ "$(FUZZ_SECONDS)" != 0 ]; then fuzz/run $(FUZZ_SECONDS); fi
	$(MAKE) vm-test
	$(MAKE) package-test

# The kernel matrix (.ci/install-deps installs the kernels), one VM boot per kernel
# (tests/vm/suites.sh): every suite (kernel, bindings, CLI, Open vSwitch, sFlow export) on 6.1, 6.12 and the
# newest kernel Debian sid carries; the kernel and Open vSwitch suites (the latter: the action is
# refused) on 5.10. A kernel that is missing or does not boot fails the run.
VM_SUITES_TIMEOUT ?= 3600
vm-test: deps all
	tests/vm/build.sh
	bindings/build.sh
	VM_TIMEOUT=$(VM_SUITES_TIMEOUT) tests/vm/vm-run 5.10 tests/vm/suites.sh kernel ovs
	VM_TIMEOUT=$(VM_SUITES_TIMEOUT) tests/vm/vm-run 6.1 tests/vm/suites.sh kernel bindings cli ovs sflow
	VM_TIMEOUT=$(VM_SUITES_TIMEOUT) tests/vm/vm-run 6.12 tests/vm/suites.sh kernel bindings cli ovs sflow
	VM_TIMEOUT=$(VM_SUITES_TIMEOUT) tests/vm/vm-run newest tests/vm/suites.sh kernel bindings cli ovs sflow

# hsflowd side by side with psample-sflow in the 6.12 VM (tools/psample-sflow/compare-hsflowd.sh):
# only when a copy of github sflow/host-sflow is in build/host-sflow (never committed), else it
# says so. Not part of `make test`.
hsflowd-compare: deps all
	tools/psample-sflow/compare-hsflowd.sh

# The receive benchmark in a VM (bench/run; docs/benchmarks.md states its run time): results in
# build/bench/, the generated part of docs/benchmarks.md and docs/benchmarks.svg. bench-quick: a
# reduced session (under 5 minutes) for developers, build/bench/ only.
bench: deps
	bench/run

bench-quick: deps
	bench/run --quick

# The gates, first in `make test` (about a minute once built): Rust formatting, clippy on every
# target (without features, with capi, with all), rustdoc without warnings (missing docs
# included; without features and with all),
# shellcheck on every shell script (*.sh, or a sh/bash shebang), go vet and gofmt on the Go
# binding. go vet runs cgo, which takes psample.h's path from a psample.pc written for this tree;
# its cache is per psample.h, as Go does not hash headers outside the package.
SHELL_SCRIPTS = $(shell git ls-files -z | xargs -0 awk 'FNR == 1 && (FILENAME ~ /\.sh$$/ || /^\#!.*[\/ ](ba|da)?sh( |$$)/) { print FILENAME } { nextfile }')
GO_ENV = PKG_CONFIG_PATH=$(abspath $(BUILDDIR))/lint GOPROXY=off GOTOOLCHAIN=local GOFLAGS="-mod=readonly -buildvcs=false" \
	CGO_ENABLED=1 GOCACHE=$(abspath $(TARGET_DIR))/go-cache/lint-$$(sha256sum $(CURDIR)/include/psample.h | cut -c1-16)
lint: version-check
	$(CARGO) fmt --check
	$(CARGO) clippy --all-targets -- -D warnings
	$(CARGO) clippy --all-targets --features capi -- -D warnings
	$(CARGO) clippy --all-targets --all-features -- -D warnings
	RUSTDOCFLAGS=-Dwarnings $(CARGO) doc --no-deps
	RUSTDOCFLAGS=-Dwarnings $(CARGO) doc --no-deps --all-features
	@[ -n "$(SHELL_SCRIPTS)" ] || { echo "lint: no shell scripts found (needs git)" >&2; exit 1; }
	shellcheck $(SHELL_SCRIPTS)
	@mkdir -p $(BUILDDIR)/lint
	sed -e 's|@PREFIX@|$(CURDIR)|g' -e 's|@LIBDIR@|$(abspath $(LIB_DIR))|g' \
	    -e 's|@INCLUDEDIR@|$(CURDIR)/include|g' -e 's|@VERSION@|$(VERSION)|g' \
	    -e 's|@LIBS_PRIVATE@|$(LIBS_PRIVATE)|g' pkgconfig/psample.pc.in > $(BUILDDIR)/lint/psample.pc
	cd bindings/go && $(GO_ENV) go vet ./...
	cd bench/recv_go && $(GO_ENV) go vet ./...
	@unformatted=$$(gofmt -l bindings/go bench/recv_go); \
	if [ -n "$$unformatted" ]; then echo "gofmt -l: not formatted: $$unformatted" >&2; exit 1; fi

# The release and its packages (issue 20; packaging/package-test.sh says what each step checks):
# dist writes build/dist/psample-VERSION.tar.xz (sources, header, vendored crates); package-test
# builds and tests it offline, builds the Debian packages from it (lintian), the wheel, installs
# the packages on a clean debootstrapped bookworm booted in a VM, and checks the crate.
dist:
	packaging/dist.sh

package-test: deps
	packaging/package-test.sh

.PHONY: dist package-test

# Installs what the build and the tests need when it is missing (as root; idempotent).
deps:
	@if [ "$$(id -u)" = 0 ]; then .ci/install-deps; else echo "make: not root: not installing dependencies"; fi

.PHONY: demo test lint vm-test bench bench-quick deps hsflowd-compare
