# tests/install.mk - the install test (included by the top Makefile, which
# has the install and uninstall rules).
#
#   make test-install   installs into a temporary prefix under build/ and
#                  builds tests/install/consumer.c against it via pkg-config
#                  and CMake (part of `make test`)
#
# CMakeLists.txt installs the same files (cmake --install); the version is
# ARENA_VERSION_STRING in arena.h.

.PHONY: test-install

# Needs cmake and pkg-config (installed like the other dependencies).
test-install:
	$(call need_pkgs,cmake pkg-config)
	@mkdir -p $(B)/results
	$(call run_variant,install,env MAKE="$(MAKE)" CC="$(CC)" sh tests/install/run.sh "$(B)/install-test")

TEST_EXTRA += test-install
