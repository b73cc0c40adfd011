# arenaConfig.cmake - CMake package for arena.h and pool.h (header-only),
# installed by `make install` or by CMake's install() as
# <prefix>/lib/cmake/arena/arenaConfig.cmake:
#
#   find_package(arena CONFIG REQUIRED)
#   target_link_libraries(app PRIVATE arena::arena)
#
# arena::arena is an INTERFACE target: <prefix>/include and the threads
# library. The prefix is found from this file's location, so an installed
# tree can be moved (or staged with DESTDIR) and still be found.

include(CMakeFindDependencyMacro)
find_dependency(Threads)

get_filename_component(_arena_prefix "${CMAKE_CURRENT_LIST_DIR}/../../.." ABSOLUTE)
if(NOT TARGET arena::arena)
  add_library(arena::arena INTERFACE IMPORTED)
  set_target_properties(arena::arena PROPERTIES
    INTERFACE_INCLUDE_DIRECTORIES "${_arena_prefix}/include"
    INTERFACE_LINK_LIBRARIES Threads::Threads)
endif()
set(arena_INCLUDE_DIR "${_arena_prefix}/include")
unset(_arena_prefix)
