# Run at every build (cmake -P), not only at configure time, so `dcslab --version` names
# the commit the binary was built from. Writes, only when they change (so an unchanged
# version recompiles nothing):
#   OUT_DIR/base/build_version.h   #define DCSLAB_VERSION "..." (base/paths.cc only)
#   OUT_DIR/version.txt            the same version, and the Debian package's (CPack)
# Inputs: SOURCE_DIR, FALLBACK (the project's version).
#
# The version is `git describe --tags --always --dirty` without a leading "v"
# ("0.2.0", "0.2.0-5-g1a2b3c4-dirty"). Without a tag, describe gives a bare commit; it
# becomes FALLBACK-N-g<commit>, N the commits in HEAD, so later builds sort later. Outside
# a git checkout of this source tree (a source tarball, even one unpacked inside another
# repository) it is FALLBACK.
set(version "${FALLBACK}")
find_program(GIT git)
if(GIT)
  execute_process(COMMAND ${GIT} -C ${SOURCE_DIR} rev-parse --show-toplevel
    OUTPUT_VARIABLE top OUTPUT_STRIP_TRAILING_WHITESPACE RESULT_VARIABLE rc ERROR_QUIET)
  if(rc EQUAL 0)
    file(REAL_PATH "${top}" top)
    file(REAL_PATH "${SOURCE_DIR}" src)
  endif()
  if(rc EQUAL 0 AND top STREQUAL src)
    execute_process(COMMAND ${GIT} -C ${SOURCE_DIR} describe --tags --always --dirty
      OUTPUT_VARIABLE described OUTPUT_STRIP_TRAILING_WHITESPACE RESULT_VARIABLE rc ERROR_QUIET)
    if(rc EQUAL 0 AND described MATCHES "^[0-9a-f]+(-dirty)?$")
      execute_process(COMMAND ${GIT} -C ${SOURCE_DIR} rev-list --count HEAD
        OUTPUT_VARIABLE count OUTPUT_STRIP_TRAILING_WHITESPACE ERROR_QUIET)
      set(version "${FALLBACK}-${count}-g${described}")
    elseif(rc EQUAL 0 AND NOT described STREQUAL "")
      string(REGEX REPLACE "^v" "" version "${described}")
    endif()
  endif()
endif()

# Debian's version may not hold "-" without a revision: 0.2.0-5-g1a2b3c4-dirty becomes
# 0.2.0+5.g1a2b3c4.dirty (the first "-" a "+", the others ".").
# (CMake's REGEX REPLACE applies "^" again after each match, so this splits by hand.)
string(FIND "${version}" "-" dash)
if(dash GREATER -1)
  string(SUBSTRING "${version}" 0 ${dash} head)
  math(EXPR after "${dash} + 1")
  string(SUBSTRING "${version}" ${after} -1 tail)
  string(REPLACE "-" "." tail "${tail}")
  set(deb_version "${head}+${tail}")
else()
  set(deb_version "${version}")
endif()

function(write_if_changed path content)
  if(EXISTS "${path}")
    file(READ "${path}" old)
    if(old STREQUAL content)
      return()
    endif()
  endif()
  file(WRITE "${path}" "${content}")
endfunction()

write_if_changed("${OUT_DIR}/base/build_version.h"
  "// Written by cmake/version.cmake at build time.\n#define DCSLAB_VERSION \"${version}\"\n")
write_if_changed("${OUT_DIR}/version.txt" "${version}\n${deb_version}\n")
