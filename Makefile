# Phalanx - the two commands a user needs are `make run` and `make test`;
# everything else here is what they call.
BUILD      ?= build
ASAN_BUILD ?= build-asan
FUZZ_BUILD ?= build-fuzz
HUB        ?= ../shared/hub
MESON_OPTS ?=

.PHONY: all setup build asan run test unit lint format bench fuzz clean

all: build

setup:
	@scripts/setup.sh build

# gcc, warnings as errors; binaries linked at build/phalanx and build/phalanxd.
build: setup
	@[ -f $(BUILD)/build.ninja ] || CC=gcc meson setup $(BUILD) $(MESON_OPTS) >/dev/null
	@ninja -C $(BUILD) >/dev/null
	@ln -sf src/bin/phalanx $(BUILD)/phalanx
	@ln -sf src/bin/phalanxd $(BUILD)/phalanxd

# clang with AddressSanitizer + UndefinedBehaviorSanitizer: the build the tests run.
asan:
	@scripts/setup.sh test
	@[ -f $(ASAN_BUILD)/build.ninja ] || CC=clang meson setup $(ASAN_BUILD) \
	    -Db_sanitize=address,undefined -Db_lundef=false -Dbuildtype=debug $(MESON_OPTS) >/dev/null
	@ninja -C $(ASAN_BUILD) >/dev/null
	@ln -sf src/bin/phalanx $(ASAN_BUILD)/phalanx
	@ln -sf src/bin/phalanxd $(ASAN_BUILD)/phalanxd

run: build
	@scripts/run.sh $(BUILD) $(HUB)

# Every suite (lint, unit, conformance, functional, fuzz corpora) on the sanitizer build,
# plus the gcc -Werror build; ends with "N passed, N failed[, N skipped]".
test: build asan
	@HUB=$(abspath $(HUB)) python3 tests/run_suites.py --build $(ASAN_BUILD) --source .

# clang-format check, cppcheck, clang-tidy (with the clang build's compile commands).
lint: asan
	@python3 tests/run_suites.py --only lint --build $(ASAN_BUILD) --source .

format:
	@git ls-files '*.c' '*.h' | xargs clang-format -i

bench: build
	@scripts/setup.sh bench
	@bench/run.sh $(BUILD)
	@bench/run_parse.sh $(BUILD)
	@bench/replay/run.sh $(BUILD)

fuzz:
	@scripts/setup.sh test
	@[ -f $(FUZZ_BUILD)/build.ninja ] || CC=clang meson setup $(FUZZ_BUILD) -Dfuzz=true \
	    -Db_sanitize=address,undefined -Db_lundef=false >/dev/null
	@ninja -C $(FUZZ_BUILD) >/dev/null
	@tests/fuzz/run.sh $(FUZZ_BUILD)

clean:
	rm -rf $(BUILD) $(ASAN_BUILD) $(FUZZ_BUILD)
