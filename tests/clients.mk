# tests/clients.mk - `make test-clients`: Lua, expat, SQLite and stb_ds on a
# PoolHeap through their own allocator hooks (tests/clients/), each checked
# against the same workload on malloc. Included by the top Makefile; `make
# test` runs it (TEST_EXTRA). Native only: the clients are the host's
# Debian packages.
#
#   clients-plain      -O2 -DNDEBUG
#   clients-asan       ASan + UBSan (PoolHeap poisons what it takes back)
#   clients-valgrind   memcheck with ARENA_VALGRIND client requests

CLIENT_PKGS := liblua5.4-dev libexpat1-dev libsqlite3-dev libstb-dev valgrind
CLIENT_SRC  := $(wildcard tests/clients/*.c)
CLIENT_DEPS := $(CLIENT_SRC) tests/clients/client.h $(HEADERS)
# gnu11: stb_ds's hash maps use __typeof__ in C
CLIENT_CFLAGS := -std=gnu11 -Wall -Wextra -Werror
CLIENT_LIBS := -llua5.4 -lexpat -lsqlite3 -lm

.PHONY: test-clients clients-deps clients-plain clients-asan clients-valgrind

clients-deps:
	$(call need_pkgs,$(CLIENT_PKGS))

$(B)/clients_plain: $(CLIENT_DEPS) | $(B)
	$(CC) $(CLIENT_CFLAGS) -O2 -DNDEBUG $(CLIENT_SRC) -o $@ $(CLIENT_LIBS)
clients-plain: $(B)/clients_plain
	$(call run_variant,clients-plain,$(B)/clients_plain)

$(B)/clients_asan: $(CLIENT_DEPS) | $(B)
	gcc $(CLIENT_CFLAGS) -O1 -g $(SAN) $(CLIENT_SRC) -o $@ $(CLIENT_LIBS)
clients-asan: $(B)/clients_asan
	$(call run_variant,clients-asan,$(B)/clients_asan)

$(B)/clients_valgrind: $(CLIENT_DEPS) | $(B)
	$(CC) $(CLIENT_CFLAGS) -O1 -g -DARENA_VALGRIND $(CLIENT_SRC) -o $@ $(CLIENT_LIBS)
clients-valgrind: $(B)/clients_valgrind
	$(call run_variant,clients-valgrind,valgrind -q --error-exitcode=99 --leak-check=full \
	    --errors-for-leak-kinds=definite $(B)/clients_valgrind)

test-clients: clients-deps
	@$(MAKE) --no-print-directory clients-plain clients-asan clients-valgrind

TEST_EXTRA += test-clients
