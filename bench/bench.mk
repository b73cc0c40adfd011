# bench/bench.mk - side-by-side benchmarks (included by the top Makefile)
#
#   make bench         every workload x every competitor, fresh processes,
#                      interleaved, >= 5 runs each: bench/results.md and
#                      bench/results.png (about 10-15 minutes on 2 cores)
#   make bench-clients Lua, expat, SQLite, stb_ds on glibc, mimalloc, mi_heap and
#                      PoolHeap (part of `make bench`): bench/clients_results.md
#   make bench-smoke   builds every bench binary and runs a tiny version of
#                      each workload once, checking that all competitors
#                      compute the same checksum (part of `make test`)
#
#   BENCH_RUNS=n       runs per cell for `make bench` (default 5)
#   BENCH_JSON_DIR=d   where canada.json, citm_catalog.json, twitter.json are
#
# One binary per competitor (jemalloc, tcmalloc and mimalloc replace malloc
# process-wide when linked), all compiled from bench/bench.c against the
# adapter interface in bench/adapters.h. Our headers are used as a user
# uses them: the implementation in its own translation unit (bench/impl.c),
# the inline fast paths inlined into the workloads.

BB             := $(B)/bench
BENCH_JSON_DIR ?= ../shared/data/json
BENCH_RUNS     ?= 5
BENCH_PY       ?= python3
BENCH_CFLAGS   := -std=gnu11 -O2 -DNDEBUG -g -Wall -Wextra
BENCH_CXXFLAGS := -std=gnu++17 -O2 -DNDEBUG -g -Wall -Wextra
BENCH_PKGS     := libjemalloc-dev libmimalloc-dev libgoogle-perftools-dev libtalloc-dev \
                  libapr1-dev libboost-dev libstb-dev g++ python3
BENCH_FULL_PKGS := $(BENCH_PKGS) gnuplot-nox valgrind linux-perf


# competitor: its -D macro(s), language, extra link flags, and whether it
# links our implementation
BENCH_COMPS := arena arena-marks stack pool pool-unchecked pool-heap bump freelist slotmap glibc jemalloc \
               mimalloc mi-heap tcmalloc obstack talloc apr boost-pool

BENCH_DEF_arena          := -DBENCH_ARENA
BENCH_DEF_arena-marks    := -DBENCH_ARENA_MARKS
BENCH_DEF_stack          := -DBENCH_STACK
BENCH_DEF_pool           := -DBENCH_POOL
BENCH_DEF_pool-unchecked := -DBENCH_POOL_UNCHECKED -DPOOL_UNCHECKED
BENCH_DEF_pool-heap      := -DBENCH_POOL_HEAP
BENCH_DEF_bump           := -DBENCH_BUMP
BENCH_DEF_freelist       := -DBENCH_FREELIST
BENCH_DEF_slotmap        := -DBENCH_SLOTMAP
BENCH_DEF_glibc          := -DBENCH_GLIBC
BENCH_DEF_jemalloc       := -DBENCH_JEMALLOC
BENCH_DEF_mimalloc       := -DBENCH_MIMALLOC
BENCH_DEF_mi-heap        := -DBENCH_MI_HEAP
BENCH_DEF_tcmalloc       := -DBENCH_TCMALLOC
BENCH_DEF_obstack        := -DBENCH_OBSTACK
BENCH_DEF_talloc         := -DBENCH_TALLOC
BENCH_DEF_apr            := -DBENCH_APR -I/usr/include/apr-1.0
BENCH_DEF_boost-pool     := -DBENCH_BOOST

BENCH_LIB_jemalloc := -ljemalloc
BENCH_LIB_mimalloc := -lmimalloc
BENCH_LIB_mi-heap  := -lmimalloc
BENCH_LIB_tcmalloc := -ltcmalloc_minimal
BENCH_LIB_talloc   := -ltalloc
BENCH_LIB_apr      := -lapr-1

BENCH_OURS := arena arena-marks stack pool pool-unchecked pool-heap
BENCH_BINS := $(addprefix $(BB)/bench_,$(BENCH_COMPS))
BENCH_SRC  := bench/bench.c bench/adapters.h bench/callgrind.h $(HEADERS)

$(BB)/impl.o: bench/impl.c $(HEADERS)
	@mkdir -p $(BB)
	$(CC) $(BENCH_CFLAGS) -c bench/impl.c -o $@

define bench_bin_rule
$(BB)/bench_$(1): $(BENCH_SRC) $(if $(filter $(1),$(BENCH_OURS)),$(BB)/impl.o)
	@mkdir -p $(BB)
	$(if $(filter boost-pool,$(1)),$(CXX) $(BENCH_CXXFLAGS) -x c++,$(CC) $(BENCH_CFLAGS)) \
	  $(BENCH_DEF_$(1)) bench/bench.c $(if $(filter boost-pool,$(1)),-x none) \
	  $(if $(filter $(1),$(BENCH_OURS)),$(BB)/impl.o) -o $$@ $(BENCH_LIB_$(1)) -ldl -lm
endef
$(foreach c,$(BENCH_COMPS),$(eval $(call bench_bin_rule,$(c))))

# Build in parallel unless a jobserver is already in charge.
BENCH_J := $(if $(findstring jobserver,$(MAKEFLAGS)),,-j$(shell nproc 2>/dev/null || echo 2))

.PHONY: bench bench-smoke bench-bins bench-deps bench-full-deps bench-clean

bench-deps:
	$(call need_pkgs,$(BENCH_PKGS))

bench-full-deps:
	$(call need_pkgs,$(BENCH_FULL_PKGS))

bench-bins: $(BENCH_BINS)

bench-smoke: bench-deps
	@$(MAKE) --no-print-directory $(BENCH_J) bench-bins
	@mkdir -p $(B)/results
	$(call run_variant,bench-smoke,$(BENCH_PY) bench/run.py smoke --bin $(BB) --json-dir $(BENCH_JSON_DIR))

bench: bench-full-deps bench-threads
	@$(MAKE) --no-print-directory $(BENCH_J) bench-bins
	@$(BENCH_PY) bench/run.py full --bin $(BB) --json-dir $(BENCH_JSON_DIR) --runs $(BENCH_RUNS) \
	    --out bench --raw $(BB)/raw --cflags "$(BENCH_CFLAGS)" --cxxflags "$(BENCH_CXXFLAGS)" \
	    --cc "$(CC)" --cxx "$(CXX)"
	@$(MAKE) --no-print-directory bench-clients

bench-clean:
	rm -rf $(BB)

TEST_EXTRA += bench-smoke

# ---- snapshots: arena_snapshot + arena_restore against memcpy of the used bytes ----
#   make bench-snapshot   1, 16 and 64 MiB states, by time (SNAP_RUNS runs,
#                         each the median and best of its passes, with page
#                         faults and store source calls per pass) and by
#                         callgrind instructions (two passes of each, the
#                         setup subtracted, split into memcpy's and the
#                         rest); bench-snapshot-smoke (in make test) runs a
#                         1 MiB state and its check.
$(BB)/bench_snapshot: bench/snapshot.c $(BB)/impl.o
	@mkdir -p $(BB)
	$(CC) $(BENCH_CFLAGS) bench/snapshot.c $(BB)/impl.o -o $@

.PHONY: bench-snapshot bench-snapshot-smoke
SNAP_RUNS ?= 3
bench-snapshot: $(BB)/bench_snapshot
	@for r in $$(seq $(SNAP_RUNS)); do echo "== run $$r"; $(BB)/bench_snapshot || exit 1; done
	@for mib in 1 16 64; do \
	  for w in snap snap0 memcpy memcpy0 blocks blocks0; do \
	    valgrind --tool=callgrind --callgrind-out-file=$(BB)/cg-$$w-$$mib.out \
	      $(BB)/bench_snapshot --cg $$w $$mib > /dev/null 2>&1; \
	  done; \
	  $(BENCH_PY) bench/cg_split.py $$mib $(BB)/cg-snap-$$mib.out $(BB)/cg-snap0-$$mib.out \
	    $(BB)/cg-memcpy-$$mib.out $(BB)/cg-memcpy0-$$mib.out \
	    $(BB)/cg-blocks-$$mib.out $(BB)/cg-blocks0-$$mib.out; \
	done

bench-snapshot-smoke: $(BB)/bench_snapshot | $(B)
	$(call run_variant,bench-snapshot-smoke,$(BB)/bench_snapshot 1)

TEST_EXTRA += bench-snapshot-smoke

# ---- real clients on PoolHeap: bench/clients.c, bench/clients.py --------------
# Lua, expat, SQLite, stb_ds (tests/clients) on glibc, mimalloc, a mimalloc heap
# and a PoolHeap: time, peak RSS, callgrind instructions -> bench/clients_results.md
CL_COMPS := glibc mimalloc mi_heap pool_heap
CL_SRC   := bench/clients.c $(filter-out tests/clients/test_clients.c,$(wildcard tests/clients/*.c))
CL_LIB_mimalloc := -lmimalloc
CL_LIB_mi_heap  := -lmimalloc

.PHONY: bench-clients
define cl_bin_rule
$(BB)/clients_$(1): $(CL_SRC) tests/clients/client.h $(HEADERS)
	@mkdir -p $(BB)
	$(CC) -std=gnu11 -O2 -DNDEBUG -g -Wall -Wextra -DCL_$(shell echo $(1) | tr a-z A-Z) $(CL_SRC) \
	  -o $$@ -llua5.4 -lexpat -lsqlite3 $(CL_LIB_$(1)) -lm
endef
$(foreach c,$(CL_COMPS),$(eval $(call cl_bin_rule,$(c))))

bench-clients: bench-full-deps clients-deps $(addprefix $(BB)/clients_,$(CL_COMPS))
	$(BENCH_PY) bench/clients.py --bin $(BB) --runs $(BENCH_RUNS)

# ---- threads: bench/threads.c, bench/threads.py -----------------------------------
# `make bench-threads` (run by `make bench`): frame-scratch, pool-churn and
# heap-churn in N = 1, 2, 4, 8 threads on one shared object, per-thread objects,
# and malloc/free of glibc, jemalloc, mimalloc, tcmalloc: bench/results-threads.md.
BENCH_THREAD_ROWS := shared local glibc jemalloc mimalloc tcmalloc
BENCH_THREAD_DEF_shared   := -DT_SHARED
BENCH_THREAD_DEF_local    := -DT_LOCAL
BENCH_THREAD_DEF_glibc    := -DROW='"glibc"'
BENCH_THREAD_DEF_jemalloc := -DROW='"jemalloc"'
BENCH_THREAD_DEF_mimalloc := -DROW='"mimalloc"'
BENCH_THREAD_DEF_tcmalloc := -DROW='"tcmalloc"'
BENCH_THREAD_BINS := $(addprefix $(BB)/threads_,$(BENCH_THREAD_ROWS))

define bench_thread_rule
$(BB)/threads_$(1): bench/threads.c bench/callgrind.h $(HEADERS) $(if $(filter shared local,$(1)),$(BB)/impl.o)
	@mkdir -p $(BB)
	$(CC) $(BENCH_CFLAGS) $(BENCH_THREAD_DEF_$(1)) bench/threads.c \
	  $(if $(filter shared local,$(1)),$(BB)/impl.o) -o $$@ -pthread $(BENCH_LIB_$(1))
endef
$(foreach r,$(BENCH_THREAD_ROWS),$(eval $(call bench_thread_rule,$(r))))

.PHONY: bench-threads
bench-threads: bench-deps
	@$(MAKE) --no-print-directory $(BENCH_J) $(BENCH_THREAD_BINS)
	@$(BENCH_PY) bench/threads.py --bin $(BB) --runs $(BENCH_RUNS) --out bench/results-threads.md
