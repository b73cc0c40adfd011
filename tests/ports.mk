# tests/ports.mk - `make test-ports`: the test suite beyond Linux x86-64 gcc.
# Included by the top Makefile; `make test` runs it (TEST_EXTRA).
#
#   port-i686           the suite (TEST_SRC) on x86-32 (32-bit size_t), -O2 -DNDEBUG,
#                       static, run natively on the x86-64 kernel
#   port-i686-asan      the suite on x86-32 under ASan + UBSan (checked paths), run
#                       natively through the cross sysroot's loader
#   port-aarch64        the suite on AArch64, -O2 -DNDEBUG, static, under qemu-aarch64
#   port-aarch64-debug  (not in test-ports, to keep it within ~3 minutes) the suite on
#                       AArch64 without NDEBUG (debug fill, asserts), -O1
#   port-win64          the suite on Windows x64 (MinGW-w64, LLP64), -O2 -DNDEBUG,
#                       under Wine
#   port-win64-threads  tests/ports/win_threads.c: VirtualAlloc virtual arenas, scratch
#                       per thread and given back at thread exit (FlsAlloc callback),
#                       threads from CreateThread/_beginthreadex; MinGW win32 threads
#   port-win64-threads-posix   the same with MinGW's posix thread model
#   port-freestanding-* tests/ports/freestanding: ARENA_NO_MALLOC/NO_VIRTUAL/NO_THREADS/
#                       NO_SPRINTF, caller buffers and sources only; the implementation
#                       is compiled -ffreestanding -nostdinc and `nm -u` must show no
#                       heap, mmap, thread or stdio symbol (x86-64 gcc and clang, i686,
#                       aarch64; each also run)
#   port-compile        tests/compile_check.c with the strict warnings for i686 (ILP32),
#                       aarch64 and MinGW (LLP64), which `make test-compile` does not see
#
# The toolchains are Debian packages, installed when missing (as root) by
# need_pkgs. Wine gets its own prefix under build/ports/wine (first start
# takes ~20 s). PORTS_JOBS builds in parallel (default: the CPU count).

PORTS       := $(B)/ports
PORTS_PKGS  := libstb-dev gcc-i686-linux-gnu libc6-dev-i386-cross libasan8-i386-cross \
               libubsan1-i386-cross gcc-aarch64-linux-gnu libc6-dev-arm64-cross qemu-user \
               gcc-mingw-w64-x86-64 wine64
PORTS_JOBS  ?= $(shell nproc 2>/dev/null || echo 2)
PORTS_TIMEOUT := timeout 600

PORT_CC_I686  := i686-linux-gnu-gcc
PORT_CC_A64   := aarch64-linux-gnu-gcc
PORT_CC_WIN   := x86_64-w64-mingw32-gcc-win32
PORT_CC_WINP  := x86_64-w64-mingw32-gcc-posix
PORT_QEMU_A64 := qemu-aarch64
# qemu-user keeps per-page state for every guest reservation: a virtual pool's
# default 64 GiB made each pool test take seconds and the suite over 20 GiB of
# host memory (OOM-killed). Under emulation pools reserve 1 GiB each.
PORT_A64_CFLAGS := '-DPOOL_VIRTUAL_RESERVE=((size_t)1 << 30)'
PORT_I686_SYSROOT := /usr/i686-linux-gnu
# i686 binaries run natively on an x86-64 kernel, elsewhere under qemu-i386
PORT_RUN_I686 := $(if $(filter x86_64 i686 i386,$(shell uname -m)),,qemu-i386 -L $(PORT_I686_SYSROOT))
PORT_WINE     := sh tests/ports/wine_run.sh $(abspath $(PORTS)/wine)

# The suite as `make test` builds it. <stb/stb_sprintf.h> comes from the
# host's libstb-dev through a directory holding only that (a cross compiler
# must not see the host's /usr/include); -isystem, as /usr/include is.
PORT_DEPS  := $(TEST_SRC) $(HEADERS) tests/test.h
PORT_CFLAGS = -std=c99 $(WARN) -isystem $(PORTS)/inc
# MinGW: GCC's format(printf) means MSVCRT's printf there (no %zu), and
# arena.h's ARENA_PRINTF uses it for stb_sprintf's C99 formats: see
# tests/ports/win_format.c (port-compile). -Wno-format keeps the suite
# building meanwhile; __USE_MINGW_ANSI_STDIO gives the tests' snprintf C99.
PORT_WIN_CFLAGS = $(PORT_CFLAGS) -D__USE_MINGW_ANSI_STDIO=1 -Wno-format

PORT_VARIANTS := port-compile port-i686 port-i686-asan port-aarch64 \
                 port-win64 port-win64-threads port-win64-threads-posix \
                 port-freestanding-x86_64 port-freestanding-clang \
                 port-freestanding-i686 port-freestanding-aarch64

TEST_EXTRA += test-ports
.PHONY: test-ports ports-deps $(PORT_VARIANTS) port-aarch64-debug

# Every port, even when one fails (-k), then a summary; fails if any did.
test-ports: | $(B)
	@start=$$(date +%s); rm -f $(B)/results/port-*.txt; \
	$(MAKE) --no-print-directory -k $(if $(findstring jobserver,$(MAKEFLAGS)),,-j$(PORTS_JOBS)) \
	    $(PORT_VARIANTS); rc=$$?; \
	$(PORT_WINE) --stop; \
	sh tests/ports/summary.sh $(B)/results $$start $(PORT_VARIANTS); \
	exit $$rc

ports-deps:
	$(call need_pkgs,$(PORTS_PKGS))

$(PORTS)/inc/stb: | ports-deps
	@mkdir -p $(PORTS)/inc
	@ln -sfn /usr/include/stb $@

# ---- x86-32 -------------------------------------------------------------------

$(PORTS)/suite-i686: $(PORT_DEPS) | ports-deps $(PORTS)/inc/stb
	$(PORT_CC_I686) $(PORT_CFLAGS) -O2 -DNDEBUG $(TEST_SRC) -o $@ -static -pthread -lm
port-i686: $(PORTS)/suite-i686 | $(B)
	$(call run_variant,$@,$(PORTS_TIMEOUT) $(PORT_RUN_I686) $<)

# ASan cannot link statically: the binary names the cross sysroot's loader
# and libraries, so it runs natively without an i386 multiarch install.
$(PORTS)/suite-i686-asan: $(PORT_DEPS) | ports-deps $(PORTS)/inc/stb
	$(PORT_CC_I686) $(PORT_CFLAGS) -O1 -g $(SAN) $(TEST_SRC) -o $@ -pthread -lm \
	    -Wl,--dynamic-linker=$(PORT_I686_SYSROOT)/lib/ld-linux.so.2 \
	    -Wl,-rpath,$(PORT_I686_SYSROOT)/lib
port-i686-asan: $(PORTS)/suite-i686-asan | $(B)
	$(call run_variant,$@,$(PORTS_TIMEOUT) $(PORT_RUN_I686) $<)

# ---- AArch64 --------------------------------------------------------------------

$(PORTS)/suite-aarch64: $(PORT_DEPS) | ports-deps $(PORTS)/inc/stb
	$(PORT_CC_A64) $(PORT_CFLAGS) $(PORT_A64_CFLAGS) -O2 -DNDEBUG $(TEST_SRC) -o $@ -static -pthread -lm
port-aarch64: $(PORTS)/suite-aarch64 | $(B)
	$(call run_variant,$@,$(PORTS_TIMEOUT) $(PORT_QEMU_A64) $<)

$(PORTS)/suite-aarch64-debug: $(PORT_DEPS) | ports-deps $(PORTS)/inc/stb
	$(PORT_CC_A64) $(PORT_CFLAGS) $(PORT_A64_CFLAGS) -O1 -g $(TEST_SRC) -o $@ -static -pthread -lm
port-aarch64-debug: $(PORTS)/suite-aarch64-debug | $(B)
	$(call run_variant,$@,$(PORTS_TIMEOUT) $(PORT_QEMU_A64) $<)

# ---- Windows x64 ------------------------------------------------------------------

$(PORTS)/wine/system.reg: | ports-deps
	@$(PORT_WINE) --init

$(PORTS)/suite-win64.exe: $(PORT_DEPS) | ports-deps $(PORTS)/inc/stb
	$(PORT_CC_WIN) $(PORT_WIN_CFLAGS) -O2 -DNDEBUG $(TEST_SRC) -o $@ -static
port-win64: $(PORTS)/suite-win64.exe | $(B) $(PORTS)/wine/system.reg
	$(call run_variant,$@,$(PORTS_TIMEOUT) $(PORT_WINE) $<)

$(PORTS)/win-threads.exe: tests/ports/win_threads.c $(HEADERS) | ports-deps $(PORTS)/inc/stb
	$(PORT_CC_WIN) $(PORT_WIN_CFLAGS) -O2 $< -o $@ -static
port-win64-threads: $(PORTS)/win-threads.exe | $(B) $(PORTS)/wine/system.reg
	$(call run_variant,$@,$(PORTS_TIMEOUT) $(PORT_WINE) $<)

$(PORTS)/win-threads-posix.exe: tests/ports/win_threads.c $(HEADERS) | ports-deps $(PORTS)/inc/stb
	$(PORT_CC_WINP) $(filter-out -std=c99,$(PORT_WIN_CFLAGS)) -std=c11 -O0 -g $< -o $@ -static
port-win64-threads-posix: $(PORTS)/win-threads-posix.exe | $(B) $(PORTS)/wine/system.reg
	$(call run_variant,$@,$(PORTS_TIMEOUT) $(PORT_WINE) $<)

# ---- freestanding -------------------------------------------------------------------
# fs_impl.c (the implementation) sees only the compiler's own freestanding
# headers (config.h routes arena.h's string functions to the compiler's
# builtins, so <string.h> is not included); check_syms.sh then proves
# its object needs no heap, mmap, thread or stdio symbol. fs_test.c, the
# hosted driver, is linked with that object and run.

PORT_FS_DIR   := tests/ports/freestanding
PORT_FS_DEPS  := $(PORT_FS_DIR)/fs_impl.c $(PORT_FS_DIR)/config.h \
            $(PORT_FS_DIR)/check_syms.sh $(HEADERS)
PORT_FS_FLAGS := -std=c99 -O2 -ffreestanding -fno-stack-protector -nostdinc \
            $(WARN) -Wconversion -Wsign-conversion -Wshadow -Wcast-qual

# port_fs_rules(name, cc, nm, link flags, runner)
define port_fs_rules
$(PORTS)/fs-$(1).o: $(PORT_FS_DEPS) | ports-deps
	@mkdir -p $(PORTS)
	$(2) $(PORT_FS_FLAGS) -isystem $$$$($(2) -print-file-name=include) -c $(PORT_FS_DIR)/fs_impl.c -o $$@.tmp
	@sh $(PORT_FS_DIR)/check_syms.sh $(3) $$@.tmp
	@mv $$@.tmp $$@
$(PORTS)/fs-test-$(1): $(PORT_FS_DIR)/fs_test.c $(PORTS)/fs-$(1).o
	$(2) -std=c99 -O2 $(WARN) $$^ -o $$@ $(4)
port-freestanding-$(1): $(PORTS)/fs-test-$(1) | $(B)
	$$(call run_variant,$$@,$(PORTS_TIMEOUT) $(5) $$<)
endef
$(eval $(call port_fs_rules,x86_64,gcc,nm,,))
$(eval $(call port_fs_rules,i686,$(PORT_CC_I686),i686-linux-gnu-nm,-static,$(PORT_RUN_I686)))
$(eval $(call port_fs_rules,aarch64,$(PORT_CC_A64),aarch64-linux-gnu-nm,-static,$(PORT_QEMU_A64)))
# clang: its resource directory holds the freestanding headers
$(PORTS)/fs-clang.o: $(PORT_FS_DEPS) | ports-deps
	@mkdir -p $(PORTS)
	clang $(PORT_FS_FLAGS) -isystem $$(clang -print-resource-dir)/include -c $(PORT_FS_DIR)/fs_impl.c -o $@.tmp
	@sh $(PORT_FS_DIR)/check_syms.sh nm $@.tmp
	@mv $@.tmp $@
$(PORTS)/fs-test-clang: $(PORT_FS_DIR)/fs_test.c $(PORTS)/fs-clang.o
	clang -std=c99 -O2 $(WARN) $^ -o $@
port-freestanding-clang: $(PORTS)/fs-test-clang | $(B)
	$(call run_variant,$@,$(PORTS_TIMEOUT) $<)

# ---- the headers under the strict warnings, per data model -----------------------------
# compile_check.c with `make test-compile`'s flags, on ILP32, LP64 AArch64
# and LLP64; win_format.c: arena_sprintf's C99 formats must be accepted by
# the format checking of a MinGW build. "N passed, N failed" like the rest.
PORT_CHECKS := $(PORT_CC_I686):c99:tests/compile_check.c $(PORT_CC_I686):c11:tests/compile_check.c \
               $(PORT_CC_A64):c99:tests/compile_check.c $(PORT_CC_A64):c11:tests/compile_check.c \
               $(PORT_CC_WIN):c99:tests/compile_check.c $(PORT_CC_WIN):c11:tests/compile_check.c \
               $(PORT_CC_WIN):c11:tests/ports/win_format.c
port-compile: | ports-deps $(PORTS)/inc/stb $(B)
	@echo "== $@"
	@p=0; f=0; for c in $(PORT_CHECKS); do \
	  cc=$${c%%:*}; rest=$${c#*:}; std=$${rest%%:*}; src=$${rest#*:}; \
	  if $$cc -std=$$std $(STRICT) -isystem $(PORTS)/inc -c $$src -o $(PORTS)/compile-check.o \
	       2>$(PORTS)/compile-check.err; then p=$$((p+1)); \
	  else f=$$((f+1)); echo "FAIL $$cc -std=$$std $$src"; head -n 20 $(PORTS)/compile-check.err; fi; \
	done; echo "$$p passed, $$f failed" > $(B)/results/$@.txt; cat $(B)/results/$@.txt; [ $$f = 0 ]
