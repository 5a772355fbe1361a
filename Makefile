# Thin wrapper over Meson for the README's commands.
BUILD ?= build
PREFIX ?= /usr/local
DESTDIR ?=

.PHONY: all deps check check-unit check-unit-asan check-conformance check-cli check-migrate demo bench bench-migrate install clean

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

check-conformance: all
	tests/run-all conformance

check-cli: all
	tests/run-all cli

check-migrate: all
	tests/run-all migrate

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

install: all
	DESTDIR=$(DESTDIR) meson install -C $(BUILD)

clean:
	rm -rf $(BUILD) build-asan
