# arena.h / pool.h
#
#   make demo   build and run the examples
#   make test   the whole test suite: plain -O2, debug (fill patterns), C++,
#               ASan+UBSan (gcc and clang), Valgrind memcheck, ThreadSanitizer,
#               and the header compile matrix (C99..C2x, C++11..C++20)
#
# Missing Debian packages are installed with apt-get when run as root;
# otherwise make stops and prints the command to run.

CC      ?= cc
CXX     ?= c++
B       := build
WARN    := -Wall -Wextra -Wpedantic -Werror
HEADERS := arena.h $(wildcard pool.h)
TEST_SRC := $(filter-out tests/compile_%.c,$(sort $(wildcard tests/*.c)))
EXAMPLES := $(basename $(notdir $(wildcard examples/*.c)))
EXAMPLES_CXX := $(basename $(notdir $(wildcard examples/*.cpp)))

DEMO_PKGS := libstb-dev libcjson-dev liblua5.4-dev
DEMO_LIBS := -lcjson -I/usr/include/lua5.4 -llua5.4
TEST_PKGS := $(DEMO_PKGS) g++ clang libclang-rt-14-dev valgrind

.PHONY: all demo test deps-demo deps-test clean \
        test-plain test-debug test-cxx test-asan test-asan-clang \
        test-valgrind test-tsan test-compile

all: demo

# ---- dependencies -------------------------------------------------------------
# Installs (as root) or names (otherwise) the Debian packages that are missing.
define need_pkgs
	@missing=""; \
	for p in $(1); do \
	  dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q "ok installed" || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    echo "installing:$$missing"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq$$missing >/dev/null || exit 1; \
	  else \
	    echo "missing Debian packages:$$missing"; \
	    echo "run: sudo apt-get install -y$$missing"; exit 1; \
	  fi; \
	fi
endef

deps-demo:
	$(call need_pkgs,$(DEMO_PKGS))

deps-test:
	$(call need_pkgs,$(TEST_PKGS))

$(B):
	@mkdir -p $(B)/results

# ---- demo ---------------------------------------------------------------------
demo: deps-demo | $(B)
	@for e in $(EXAMPLES); do \
	  echo "== examples/$$e.c"; \
	  $(CC) -std=c99 -O2 -DNDEBUG $(WARN) -I. examples/$$e.c -o $(B)/$$e -pthread -lm $(DEMO_LIBS) || exit 1; \
	  (cd examples && ../$(B)/$$e) || exit 1; \
	done
	@for e in $(EXAMPLES_CXX); do \
	  echo "== examples/$$e.cpp"; \
	  $(CXX) -std=c++11 -O2 -DNDEBUG $(WARN) -I. examples/$$e.cpp -o $(B)/$$e -pthread || exit 1; \
	  (cd examples && ../$(B)/$$e) || exit 1; \
	done

# ---- tests --------------------------------------------------------------------
# Each variant builds the whole suite into one binary and records its
# "N passed, N failed" line; `test` adds them up at the end.
define run_variant
	@echo "== $(1)"
	@mkdir -p $(B)/results
	@$(2) > $(B)/results/$(1).txt 2>$(B)/results/$(1).err || { cat $(B)/results/$(1).err $(B)/results/$(1).txt; exit 1; }
	@tail -n 1 $(B)/results/$(1).txt
endef

# Feature makefiles add their own test targets to TEST_EXTRA.
TEST_EXTRA :=
-include bench/bench.mk tests/fuzz.mk tests/ports.mk tests/install.mk tests/clients.mk

test: deps-test | $(B)
	@mkdir -p $(B)/results && rm -f $(B)/results/*.txt
	@$(MAKE) --no-print-directory test-compile test-plain test-debug test-cxx \
	    test-asan test-asan-clang test-valgrind test-tsan $(TEST_EXTRA)
	@cat $(B)/results/*.txt | awk '/^[0-9]+ passed, [0-9]+ failed/ { p += $$1; f += $$3 } \
	    END { printf "total: %d passed, %d failed\n", p, f; exit (f > 0) }'

$(B)/test_plain: $(TEST_SRC) $(HEADERS) tests/test.h | $(B)
	$(CC) -std=c99 -O2 -DNDEBUG $(WARN) $(TEST_SRC) -o $@ -pthread -lm
test-plain: $(B)/test_plain
	$(call run_variant,plain,$(B)/test_plain)

$(B)/test_debug: $(TEST_SRC) $(HEADERS) tests/test.h | $(B)
	$(CC) -std=c99 -O0 -g $(WARN) $(TEST_SRC) -o $@ -pthread -lm
test-debug: $(B)/test_debug
	$(call run_variant,debug,$(B)/test_debug)

$(B)/test_cxx: $(TEST_SRC) $(HEADERS) tests/test.h | $(B)
	$(CXX) -std=c++11 -O2 $(WARN) -x c++ $(TEST_SRC) -o $@ -pthread -lm
test-cxx: $(B)/test_cxx
	$(call run_variant,cxx,$(B)/test_cxx)

SAN := -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
$(B)/test_asan: $(TEST_SRC) $(HEADERS) tests/test.h | $(B)
	gcc -std=c99 -O1 -g $(SAN) $(WARN) $(TEST_SRC) -o $@ -pthread -lm
test-asan: $(B)/test_asan
	$(call run_variant,asan,$(B)/test_asan)

$(B)/test_asan_clang: $(TEST_SRC) $(HEADERS) tests/test.h | $(B)
	clang -std=c11 -O1 -g $(SAN) $(WARN) $(TEST_SRC) -o $@ -pthread -lm
test-asan-clang: $(B)/test_asan_clang
	$(call run_variant,asan-clang,$(B)/test_asan_clang)

$(B)/test_valgrind: $(TEST_SRC) $(HEADERS) tests/test.h | $(B)
	$(CC) -std=c99 -O1 -g -DARENA_VALGRIND $(WARN) $(TEST_SRC) -o $@ -pthread -lm
test-valgrind: $(B)/test_valgrind
	$(call run_variant,valgrind,valgrind -q --error-exitcode=99 --leak-check=full \
	    --errors-for-leak-kinds=definite $(B)/test_valgrind)

$(B)/test_tsan: $(TEST_SRC) $(HEADERS) tests/test.h | $(B)
	clang -std=c11 -O1 -g -fsanitize=thread $(WARN) $(TEST_SRC) -o $@ -pthread -lm
test-tsan: $(B)/test_tsan
	$(call run_variant,tsan,$(B)/test_tsan scratch shared pool_cache)

# Both headers, declarations and implementation, with every compiler and
# standard the library supports; -Wconversion too, for the headers.
STRICT := $(WARN) -Wconversion -Wsign-conversion -Wshadow -Wcast-qual
test-compile: | $(B)
	@echo "== compile matrix"
	@for cc in gcc clang; do for std in c99 c11 c17 c2x; do \
	  $$cc -std=$$std $(STRICT) -c tests/compile_check.c -o $(B)/cc.o || exit 1; \
	done; done
	@for cxx in g++ clang++; do for std in c++11 c++17 c++20; do \
	  $$cxx -std=$$std $(STRICT) -x c++ -c tests/compile_check.c -o $(B)/cc.o || exit 1; \
	done; done
	@for cc in gcc clang g++ clang++; do \
	  $$cc $(STRICT) -x $$(case $$cc in *++) echo c++;; *) echo c;; esac) -c tests/compile_static.c -o $(B)/cc.o || exit 1; \
	done
	@for cc in gcc clang; do for std in c99 c11; do \
	  $$cc -std=$$std $(STRICT) tests/compile_strict.c -o $(B)/strict -pthread && $(B)/strict || exit 1; \
	done; done
	@python3 tests/check_config.py
	@echo "compile matrix: gcc, clang x c99 c11 c17 c2x; g++, clang++ x c++11 c++17 c++20; ARENA_STATIC; strict -std with <stdlib.h> first, run: ok"

# ---- install ------------------------------------------------------------------
# The headers, arena.pc for pkg-config and the CMake package (find_package(arena));
# CMakeLists.txt installs the same files.
PREFIX  ?= /usr/local
DESTDIR ?=
ARENA_VERSION := $(shell sed -n 's/^#define ARENA_VERSION_STRING "\(.*\)"/\1/p' arena.h)
ARENA_ROOT     = $(DESTDIR)$(PREFIX)
ARENA_INSTALLED := include/arena.h include/pool.h lib/pkgconfig/arena.pc \
                   lib/cmake/arena/arenaConfig.cmake lib/cmake/arena/arenaConfigVersion.cmake

.PHONY: install uninstall

install:
	install -d "$(ARENA_ROOT)/include" "$(ARENA_ROOT)/lib/pkgconfig" "$(ARENA_ROOT)/lib/cmake/arena"
	install -m 644 arena.h pool.h "$(ARENA_ROOT)/include/"
	sed -e 's|@ARENA_PREFIX@|$(PREFIX)|g' -e 's|@ARENA_VERSION@|$(ARENA_VERSION)|g' \
	    cmake/arena.pc.in > "$(ARENA_ROOT)/lib/pkgconfig/arena.pc"
	chmod 644 "$(ARENA_ROOT)/lib/pkgconfig/arena.pc"
	install -m 644 cmake/arenaConfig.cmake "$(ARENA_ROOT)/lib/cmake/arena/"
	sed -e 's|@ARENA_VERSION@|$(ARENA_VERSION)|g' \
	    cmake/arenaConfigVersion.cmake.in > "$(ARENA_ROOT)/lib/cmake/arena/arenaConfigVersion.cmake"
	chmod 644 "$(ARENA_ROOT)/lib/cmake/arena/arenaConfigVersion.cmake"

uninstall:
	rm -f $(foreach f,$(ARENA_INSTALLED),"$(ARENA_ROOT)/$(f)")
	rmdir "$(ARENA_ROOT)/lib/cmake/arena" 2>/dev/null || true

clean:
	rm -rf $(B)
