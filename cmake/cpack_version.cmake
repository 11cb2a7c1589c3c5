# Read by cpack (CPACK_PROJECT_CONFIG_FILE): the package's version is the one the build
# wrote (cmake/version.cmake, second line: Debian's spelling), so the .deb and
# `dcslab --version` agree. CPack variables are the only ones that reach this file.
if(NOT EXISTS "${CPACK_DCSLAB_VERSION_FILE}")
  message(FATAL_ERROR "${CPACK_DCSLAB_VERSION_FILE} is missing: build first (ninja -C build)")
endif()
file(STRINGS "${CPACK_DCSLAB_VERSION_FILE}" lines)
list(GET lines 1 deb_version)
set(CPACK_PACKAGE_VERSION "${deb_version}")
set(CPACK_DEBIAN_PACKAGE_VERSION "${deb_version}")
