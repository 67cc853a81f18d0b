# xentt: the one entry point. Users type make targets; CMake and Ninja do the
# work underneath in build/ (build-san/ and build-fuzz/ for the checked builds).
#
#   make            libraries, programs (build/bin/) and the demo guest (build/guest/demo.elf)
#   make demo       install what is missing, build, run the main job end to end
#   make test       everything CI runs: sanitizer unit tests, fuzz smoke, the full suite
#   make fuzz       the fuzzing campaign: each target FUZZ_SECONDS (600) on its corpus, FUZZ_TARGETS to pick
#   make check      only the full suite in build/ (quicker while developing)
#   make install    PREFIX=/usr/local DESTDIR=
#   make bench      the benchmarks (figures and ratios, never pass/fail)
#   make clean

BUILD      ?= build
PREFIX     ?= /usr/local
DESTDIR    ?=
JOBS       ?= $(shell nproc)
CMAKE_ARGS ?=
# SANITIZE=1 builds build/ itself with ASan+UBSan (every test, slower).
SANITIZE   ?=
# Seconds per fuzz target: 20 for the smoke runs of `make test`, 600 for
# `make fuzz`; FUZZ_TARGETS picks targets (default all), FUZZ_RUNS caps the
# executions of each.
FUZZ_SECONDS ?=
FUZZ_TARGETS ?=

ifeq ($(SANITIZE),1)
CMAKE_ARGS += -DXENTT_SANITIZE=ON
endif

CTEST = ctest --output-on-failure -j$(JOBS)

.PHONY: all demo test check test-san test-fuzz fuzz install bench deps clean help

all: $(BUILD)/build.ninja
	cmake --build $(BUILD) -j$(JOBS)

$(BUILD)/build.ninja:
	@scripts/install-deps --check || { echo "make: run 'make deps' (as root) or 'make demo' first" >&2; exit 1; }
	cmake -S . -B $(BUILD) -G Ninja -DCMAKE_INSTALL_PREFIX=$(PREFIX) $(CMAKE_ARGS)

deps:
	@scripts/install-deps

demo: deps
	@$(MAKE) --no-print-directory all
	@scripts/demo $(BUILD)

# The sanitizer and fuzz runs come first so that the last line printed is the
# full suite's CTest summary.
test: deps
	@$(MAKE) --no-print-directory test-san
	@$(MAKE) --no-print-directory test-fuzz
	@$(MAKE) --no-print-directory check

check: all
	cd $(BUILD) && $(CTEST)

test-san: build-san/build.ninja
	cmake --build build-san -j$(JOBS)
	cd build-san && $(CTEST) -L unit

build-san/build.ninja:
	cmake -S . -B build-san -G Ninja -DCMAKE_BUILD_TYPE=Debug -DXENTT_SANITIZE=ON -DXENTT_GUEST=OFF

test-fuzz: build-fuzz/build.ninja
	cmake --build build-fuzz -j$(JOBS)
	cd build-fuzz && XENTT_FUZZ_SECONDS=$(or $(FUZZ_SECONDS),20) $(CTEST) -L fuzz --no-tests=ignore

# Findings are saved in build-fuzz/fuzz/findings_NAME/, new corpus inputs in
# build-fuzz/fuzz/corpus_NAME/ (never in the repository's seeds).
fuzz: build-fuzz/build.ninja
	cmake --build build-fuzz -j$(JOBS)
	@scripts/fuzz build-fuzz $(or $(FUZZ_SECONDS),600) $(FUZZ_TARGETS)

build-fuzz/build.ninja:
	CC=clang-14 CXX=clang++-14 cmake -S . -B build-fuzz -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DXENTT_FUZZ=ON -DXENTT_GUEST=OFF

# The prefix is set before building, since the pkg-config file and the
# installed RPATH depend on it.
install: $(BUILD)/build.ninja
	cmake -S . -B $(BUILD) -DCMAKE_INSTALL_PREFIX=$(PREFIX) >/dev/null
	cmake --build $(BUILD) -j$(JOBS)
	DESTDIR=$(DESTDIR) cmake --install $(BUILD)

bench: deps all
	@scripts/bench $(BUILD)

clean:
	rm -rf build build-san build-fuzz

help:
	@sed -n '2,11p' Makefile | sed 's/^# \{0,1\}//'
