# Warnings are an INTERFACE target linked PRIVATE by each library, never global flags.
add_library(claimgate_warnings INTERFACE)
target_compile_options(claimgate_warnings INTERFACE -Wall -Wextra -Wpedantic -Wshadow -Wnon-virtual-dtor -Wno-missing-field-initializers)
if(CLAIMGATE_WERROR)
  target_compile_options(claimgate_warnings INTERFACE -Werror)
endif()

# Include paths are relative to gateway/ ("jwt/token.h") and to the top ("policy/route_table.h").
add_library(claimgate_include INTERFACE)
target_include_directories(claimgate_include INTERFACE ${PROJECT_SOURCE_DIR}/gateway ${PROJECT_SOURCE_DIR})

# claimgate_add_library(<dir> SOURCES ...) -> static library claimgate_<dir>, alias claimgate::<dir>
function(claimgate_add_library name)
  cmake_parse_arguments(ARG "" "" "SOURCES" ${ARGN})
  add_library(claimgate_${name} STATIC ${ARG_SOURCES})
  add_library(claimgate::${name} ALIAS claimgate_${name})
  target_link_libraries(claimgate_${name} PUBLIC claimgate_include PRIVATE claimgate_warnings)
endfunction()

# claimgate_use_asio(<target>) for every target whose sources include Asio or Beast: links
# claimgate::asio (the separate-compilation switches; the implementation is compiled once in
# gateway/asio/) and reuses its precompiled header, so that header is compiled once per build
# rather than once per target. The reuse needs the compile flags and definitions of
# claimgate_asio: link claimgate_warnings PRIVATE as every target here does, and add no
# definition or option that the Boost headers look at (GCC would warn "-Winvalid-pch" and
# compile without it).
function(claimgate_use_asio target)
  target_link_libraries(${target} PUBLIC claimgate::asio)
  target_precompile_headers(${target} REUSE_FROM claimgate_asio)
endfunction()
