# Thin wrapper over Meson for the README's commands.
BUILD ?= build
PREFIX ?= /usr/local
DESTDIR ?=

.PHONY: all deps check check-unit check-unit-asan check-fuzz fuzz-long check-conformance check-cli check-migrate check-faults demo bench bench-migrate install clean

all: $(BUILD)/build.ninja
	ninja -C $(BUILD)

$(BUILD)/build.ninja:
	meson setup $(BUILD) --prefix=$(PREFIX)

deps:
	scripts/install-deps

# The one test command (README, .ci/run): set-up, build, every tier.
check: deps
	$(MAKE) all
	tests/run-all

check-unit: all
	tests/run-all unit

# The unit tests under ASan+UBSan (build-asan, configured by tests/run-all).
check-unit-asan:
	tests/run-all unit-asan

# Every fuzz target for 20 s (FUZZ_TIME) from the committed seed corpora.
check-fuzz:
	tests/run-all fuzz

# The same for longer; the grown corpora and any crash stay in build-fuzz/work.
FUZZ_LONG_TIME ?= 600
fuzz-long:
	FUZZ_TIME=$(FUZZ_LONG_TIME) FUZZ_WORK=$(CURDIR)/build-fuzz/work tests/run-all fuzz

check-conformance: all
	tests/run-all conformance

check-cli: all
	tests/run-all cli

check-migrate: all
	tests/run-all migrate

# The fault matrix alone (tests/migrate/faults.bats: every fault at every
# point of a migration, both modes; also part of check-migrate).
check-faults: all
	tests/run-all faults

demo: deps
	$(MAKE) all
	scripts/demo

bench: deps
	$(MAKE) all
	bench/run-all

# Live migration between simulated hosts: runc's flows (the baseline) and,
# once it can, ferry's; medians in a table, runs in bench/results/.
bench-migrate: deps
	bench/bench-migrate

# The binary, man pages, bash completion and ferry-serve.service under
# PREFIX (applied to an existing build directory too), staged under
# DESTDIR when given.
install: all
	meson configure $(BUILD) -Dprefix=$(PREFIX)
	DESTDIR=$(DESTDIR) meson install -C $(BUILD)

clean:
	rm -rf $(BUILD) build-asan build-fuzz
