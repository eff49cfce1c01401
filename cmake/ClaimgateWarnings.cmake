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
