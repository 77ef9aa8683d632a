# DuckDB's convention: `make` builds build/release; `make debug`; `make test`; `make demo`.
JOBS ?= $(shell nproc)
# Evaluated when a recipe runs, i.e. after deps installed ninja on a fresh machine.
GENERATOR = $(shell command -v ninja >/dev/null 2>&1 && echo "-G Ninja")
CMAKE_FLAGS ?=

.PHONY: all release debug asan test test-asan demo bench format clean deps

all: release

deps:
	@scripts/install-deps

build/release/build.ninja build/release/Makefile: | deps
	cmake -S . -B build/release $(GENERATOR) -DCMAKE_BUILD_TYPE=RelWithDebInfo $(CMAKE_FLAGS)

release: deps build/release/build.ninja
	cmake --build build/release -j $(JOBS)

debug: deps
	cmake -S . -B build/debug $(GENERATOR) -DCMAKE_BUILD_TYPE=Debug $(CMAKE_FLAGS)
	cmake --build build/debug -j $(JOBS)

asan: deps
	cmake -S . -B build/asan $(GENERATOR) -DCMAKE_BUILD_TYPE=Debug -DDEW_SANITIZE=ON -DDEW_BUILD_BENCH=OFF $(CMAKE_FLAGS)
	cmake --build build/asan -j $(JOBS) --target dew_tests dew

test: release
	cd build/release && ctest -j $(JOBS) --output-on-failure --timeout 900

# Unit and integration tests once more under AddressSanitizer and UndefinedBehaviorSanitizer,
# except those that run no code of dew's the others do not: the Odoo generator's tests (SQL
# scripts inside PostgreSQL) and the five finance-close tests that each break the generated
# company another way and run the same close as the two kept (about 5 of CI's 90 minutes).
ASAN_SKIP = ^OdooGeneratorTest\.|^FinanceCloseTest\.(A[A-Za-z]*StopsThePublish)$$
test-asan: asan
	cd build/asan && ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 \
	  ctest -j $(JOBS) --output-on-failure --timeout 1800 -E '$(ASAN_SKIP)'

# The demo and the benchmarks need only their own programs, not the test binary.
demo: deps build/release/build.ninja
	cmake --build build/release -j $(JOBS) --target dew
	examples/finance-close/demo.sh

bench: deps build/release/build.ninja
	cmake --build build/release -j $(JOBS) --target dew lake_open_bench
	bench/run

format:
	clang-format -i $$(git ls-files 'src/*.cc' 'src/*.h' 'tests/*.cc' 'tests/*.h' 'bench/*.cc')

clean:
	rm -rf build
