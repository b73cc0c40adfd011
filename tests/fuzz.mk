# tests/fuzz.mk - fuzzing and "must be caught" checks (included by Makefile).
#
#   make fuzz                 each libFuzzer harness for FUZZ_SECONDS (300) from
#                             the committed corpus; new inputs go to
#                             build/fuzz/corpus-<harness>, crashes to
#                             build/fuzz/<harness>-crash-*
#   make fuzz-smoke           (in make test) replays tests/corpus/<harness> and
#                             fuzzes each harness FUZZ_SMOKE_SECONDS (6)
#   make test-caught          (in make test) use after reset / rewind / pop /
#                             pool_free and one byte past the newest allocation
#                             must be stopped by ASan and reported by memcheck
#
#   make fuzz-release         the same long runs on release builds (-O2
#                             -DNDEBUG, UBSan, no ASan): the inline fast paths
#                             of arena_alloc and pool_alloc/free, against the
#                             same model
#
#   FUZZ_MAX_LEN=n            longest input of the long runs (128: about 50
#                             operations; the harnesses cost about their
#                             operations, so shorter inputs run faster)
#   FUZZ_DEFS=-DFUZZ_KNOWN_BUGS   tolerate the bugs already reported (see
#                                 tests/fuzz/fuzz_common.h) in long runs
#   Replay one input:  build/fuzz/fuzz_arena path/to/input

FUZZ_CC ?= clang
FUZZ_SECONDS ?= 300
FUZZ_SMOKE_SECONDS ?= 6
FUZZ_MAX_LEN ?= 128
FUZZ_DEFS ?=
FUZZERS := fuzz_arena fuzz_stack fuzz_pool fuzz_lifetimes fuzz_pool_heap fuzz_shared
FUZZ_DIR := $(B)/fuzz$(if $(strip $(FUZZ_DEFS)),-defs)
FUZZ_COMMON := -fsanitize-coverage-ignorelist=tests/fuzz/nocov.txt $(WARN) $(FUZZ_DEFS) -pthread
FUZZ_FLAGS := -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all \
              -fno-omit-frame-pointer $(FUZZ_COMMON)
FUZZ_BINS := $(addprefix $(FUZZ_DIR)/,$(FUZZERS))
FUZZ_REL_DIR := $(B)/fuzz-release$(if $(strip $(FUZZ_DEFS)),-defs)
FUZZ_REL_FLAGS := -g -O2 -DNDEBUG -fsanitize=fuzzer,undefined -fno-sanitize-recover=all \
                  $(FUZZ_COMMON)
FUZZ_REL_BINS := $(addprefix $(FUZZ_REL_DIR)/,$(FUZZERS))
# libFuzzer options for every run: a hang is a failure too
FUZZ_OPTS := -timeout=60 -rss_limit_mb=2048

.PHONY: fuzz fuzz-release fuzz-smoke fuzz-build test-caught test-caught-uninit

$(FUZZ_DIR)/%: tests/fuzz/%.c tests/fuzz/fuzz_common.h tests/fuzz/nocov.txt $(HEADERS)
	@mkdir -p $(FUZZ_DIR)
	$(FUZZ_CC) $(FUZZ_FLAGS) $< -o $@

fuzz-build: $(FUZZ_BINS) $(FUZZ_REL_BINS)

$(FUZZ_REL_DIR)/%: tests/fuzz/%.c tests/fuzz/fuzz_common.h tests/fuzz/nocov.txt $(HEADERS)
	@mkdir -p $(FUZZ_REL_DIR)
	$(FUZZ_CC) $(FUZZ_REL_FLAGS) $< -o $@

# Long runs. The committed corpus is only read; what libFuzzer adds goes to
# build/. The final stats (executions, coverage) are printed for each.
define fuzz_long
	@for f in $(FUZZERS); do \
	  echo "== $$f: $(FUZZ_SECONDS) s ($(1))"; \
	  mkdir -p $(1)/corpus-$$f; \
	  $(1)/$$f $(FUZZ_OPTS) -max_len=$(FUZZ_MAX_LEN) -max_total_time=$(FUZZ_SECONDS) -print_final_stats=1 \
	    -artifact_prefix=$(1)/$$f- $(1)/corpus-$$f tests/corpus/$$f \
	    > $(1)/$$f.log 2>&1; rc=$$?; \
	  grep -E '^#[0-9]+[[:space:]]+DONE|^Done [0-9]+ runs|^stat::(number_of_executed_units|average_exec_per_sec|new_units_added|peak_rss_mb)' \
	    $(1)/$$f.log; \
	  if [ $$rc -ne 0 ]; then \
	    echo "$$f FAILED (exit $$rc); log: $(1)/$$f.log"; \
	    grep -E -A12 'FUZZ MODEL MISMATCH|ERROR: (AddressSanitizer|libFuzzer|UndefinedBehavior)|runtime error' \
	      $(1)/$$f.log | head -40; \
	    exit 1; \
	  fi; \
	done
endef

fuzz: deps-test $(FUZZ_BINS) | $(B)
	$(call fuzz_long,$(FUZZ_DIR))

fuzz-release: deps-test $(FUZZ_REL_BINS) | $(B)
	$(call fuzz_long,$(FUZZ_REL_DIR))

# Brief runs for make test: the committed corpus must replay clean, and a
# few seconds of fuzzing from it must find nothing.
fuzz-smoke: $(FUZZ_BINS) | $(B)
	@echo "== fuzz-smoke"
	@mkdir -p $(B)/results; pass=0; fail=0; \
	for f in $(FUZZERS); do \
	  rm -rf $(FUZZ_DIR)/smoke-$$f; mkdir -p $(FUZZ_DIR)/smoke-$$f; \
	  if $(FUZZ_DIR)/$$f $(FUZZ_OPTS) -max_total_time=$(FUZZ_SMOKE_SECONDS) \
	       -artifact_prefix=$(FUZZ_DIR)/$$f-smoke- $(FUZZ_DIR)/smoke-$$f tests/corpus/$$f \
	       > $(FUZZ_DIR)/$$f-smoke.log 2>&1; then \
	    pass=$$((pass + 1)); \
	    echo "  $$f: corpus of $$(ls tests/corpus/$$f | wc -l) replayed, $$(grep -E -o 'Done [0-9]+ runs' $(FUZZ_DIR)/$$f-smoke.log)"; \
	  else \
	    fail=$$((fail + 1)); \
	    echo "  $$f: FAILED; log: $(FUZZ_DIR)/$$f-smoke.log"; \
	    grep -E -A12 'FUZZ MODEL MISMATCH|ERROR: (AddressSanitizer|libFuzzer|UndefinedBehavior)|runtime error' \
	      $(FUZZ_DIR)/$$f-smoke.log | head -30; \
	  fi; \
	done; \
	echo "$$pass passed, $$fail failed" > $(B)/results/fuzz-smoke.txt; \
	echo "fuzz-smoke: $$pass passed, $$fail failed"; \
	test $$fail -eq 0

# ---- must be caught ----------------------------------------------------------------
# Each program makes one bad access (tests/caught/caught.h). ASan build: a
# non-zero exit with an AddressSanitizer report whose top frame is in the
# program. ARENA_VALGRIND build (no ASan): memcheck reports it (exit 7).
# The ASan build is a release one (-DNDEBUG: no fill patterns, poisoning
# alone must catch it); the memcheck build keeps the debug fill.
CAUGHT_RUNS := use_after_reset use_after_rewind use_after_pop use_after_pool_free \
               use_after_heap_free use_after_heap_free:large \
               one_past_newest:1 one_past_newest:13 one_past_newest:16 one_past_newest:100 \
               into_next:13 into_next:32 into_next:64 before_first
CAUGHT_PROGS := use_after_reset use_after_rewind use_after_pop use_after_pool_free one_past_newest \
                into_next before_first use_after_heap_free
CAUGHT_DIR := $(B)/caught
CAUGHT_ASAN := -std=c99 -O1 -g -DNDEBUG -fsanitize=address -fno-omit-frame-pointer $(WARN)
CAUGHT_VG := -std=c99 -O1 -g -DARENA_VALGRIND $(WARN)

$(CAUGHT_DIR)/impl-asan.o: tests/caught/impl.c $(HEADERS)
	@mkdir -p $(CAUGHT_DIR)
	clang $(CAUGHT_ASAN) -c $< -o $@
$(CAUGHT_DIR)/impl-vg.o: tests/caught/impl.c $(HEADERS)
	@mkdir -p $(CAUGHT_DIR)
	$(CC) $(CAUGHT_VG) -c $< -o $@
$(CAUGHT_DIR)/%-asan: tests/caught/%.c tests/caught/caught.h $(CAUGHT_DIR)/impl-asan.o
	clang $(CAUGHT_ASAN) $< $(CAUGHT_DIR)/impl-asan.o -o $@
$(CAUGHT_DIR)/%-vg: tests/caught/%.c tests/caught/caught.h $(CAUGHT_DIR)/impl-vg.o
	$(CC) $(CAUGHT_VG) $< $(CAUGHT_DIR)/impl-vg.o -o $@

test-caught: $(CAUGHT_PROGS:%=$(CAUGHT_DIR)/%-asan) $(CAUGHT_PROGS:%=$(CAUGHT_DIR)/%-vg) | $(B)
	@echo "== caught"
	@mkdir -p $(B)/results; pass=0; fail=0; \
	for spec in $(CAUGHT_RUNS); do \
	  t=$${spec%%:*}; arg=; case $$spec in *:*) arg=$${spec#*:};; esac; \
	  ok=1; \
	  $(CAUGHT_DIR)/$$t-asan $$arg > $(CAUGHT_DIR)/$$t$$arg-asan.out 2>&1; rc=$$?; \
	  if [ $$rc -eq 0 ] || ! grep -q 'ERROR: AddressSanitizer' $(CAUGHT_DIR)/$$t$$arg-asan.out; then \
	    ok=0; echo "  $$spec: NOT stopped by ASan (exit $$rc)"; \
	  elif ! grep -m1 '#0 ' $(CAUGHT_DIR)/$$t$$arg-asan.out | grep -q 'tests/caught/'; then \
	    ok=0; echo "  $$spec: ASan reported it, but not at the faulty access:"; \
	    grep -m1 '#0 ' $(CAUGHT_DIR)/$$t$$arg-asan.out; \
	  fi; \
	  valgrind -q --error-exitcode=7 $(CAUGHT_DIR)/$$t-vg $$arg > $(CAUGHT_DIR)/$$t$$arg-vg.out 2>&1; rc=$$?; \
	  if [ $$rc -ne 7 ] || ! grep -q 'Invalid \(read\|write\)' $(CAUGHT_DIR)/$$t$$arg-vg.out; then \
	    ok=0; echo "  $$spec: NOT reported by memcheck (exit $$rc)"; \
	  fi; \
	  if [ $$ok = 1 ]; then pass=$$((pass + 1)); else fail=$$((fail + 1)); fi; \
	done; \
	echo "$$pass passed, $$fail failed" > $(B)/results/caught.txt; \
	echo "caught: $$pass passed, $$fail failed"; \
	test $$fail -eq 0

# Uninitialised reads, memcheck only (ASan does not track them): a debug
# build (-O0, fills on) must still leave handed-out memory undefined.
CAUGHT_UNINIT_RUNS := 0 1 2 3
$(CAUGHT_DIR)/uninit_read-vgdebug: tests/caught/uninit_read.c tests/caught/caught.h tests/caught/impl.c $(HEADERS)
	@mkdir -p $(CAUGHT_DIR)
	$(CC) -std=c99 -O0 -g -DARENA_VALGRIND $(WARN) tests/caught/uninit_read.c tests/caught/impl.c -o $@

test-caught-uninit: $(CAUGHT_DIR)/uninit_read-vgdebug | $(B)
	@echo "== caught-uninit"
	@mkdir -p $(B)/results; pass=0; fail=0; \
	for arg in $(CAUGHT_UNINIT_RUNS); do \
	  valgrind -q --error-exitcode=7 $(CAUGHT_DIR)/uninit_read-vgdebug $$arg > $(CAUGHT_DIR)/uninit$$arg.out 2>&1; rc=$$?; \
	  if [ $$rc -eq 7 ] && grep -q 'uninitialised value' $(CAUGHT_DIR)/uninit$$arg.out; then pass=$$((pass + 1)); \
	  else fail=$$((fail + 1)); echo "  uninit_read $$arg: NOT reported by memcheck (exit $$rc)"; fi; \
	done; \
	echo "$$pass passed, $$fail failed" > $(B)/results/caught-uninit.txt; \
	echo "caught-uninit: $$pass passed, $$fail failed"; \
	test $$fail -eq 0

TEST_EXTRA += fuzz-smoke test-caught test-caught-uninit
