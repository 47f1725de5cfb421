# Every dependency comes from a Debian 12 package. Where one is missing, stop and name
# the package to install (tools/install-deps.sh installs them all).

function(exc_require found what package)
  if(NOT ${found})
    message(FATAL_ERROR "${what} not found: install the Debian package '${package}' "
                        "(or run tools/install-deps.sh as root)")
  endif()
endfunction()

find_package(Threads REQUIRED)

find_package(PkgConfig QUIET)
exc_require(PkgConfig_FOUND "pkg-config" "pkg-config")

# CAF 0.17.6 ships no CMake config and no .pc file: define the imported targets here,
# with CAF 1.x's names so an upgrade is painless.
find_path(CAF_INCLUDE_DIR caf/all.hpp)
find_library(CAF_core_LIB caf_core)
find_library(CAF_io_LIB caf_io)
if(CAF_INCLUDE_DIR AND CAF_core_LIB AND CAF_io_LIB)
  set(CAF_OK TRUE)
endif()
exc_require(CAF_OK "CAF 0.17 (caf/all.hpp, libcaf_core, libcaf_io)" "libcaf-dev")
foreach(comp core io)
  add_library(CAF::${comp} SHARED IMPORTED)
  set_target_properties(CAF::${comp} PROPERTIES
    IMPORTED_LOCATION "${CAF_${comp}_LIB}"
    INTERFACE_INCLUDE_DIRECTORIES "${CAF_INCLUDE_DIR}"
    INTERFACE_LINK_LIBRARIES Threads::Threads)
endforeach()
set_property(TARGET CAF::io APPEND PROPERTY INTERFACE_LINK_LIBRARIES CAF::core)
add_library(CAF::test INTERFACE IMPORTED) # header-only in 0.17
set_target_properties(CAF::test PROPERTIES INTERFACE_LINK_LIBRARIES CAF::core)

find_package(boost_headers 1.81 CONFIG QUIET)
exc_require(boost_headers_FOUND "Boost 1.81 headers (Beast, Asio)" "libboost1.81-dev")

find_package(OpenSSL 3 QUIET)
exc_require(OPENSSL_FOUND "OpenSSL 3" "libssl-dev")

find_program(OPENSSL_TOOL openssl)
exc_require(OPENSSL_TOOL "the openssl command (tests create a throwaway CA)" "openssl")

# RocksDB's own CMake config pulls in optional compression packages; look for the
# header and library directly instead.
find_path(ROCKSDB_INCLUDE_DIR rocksdb/db.h)
find_library(ROCKSDB_LIB rocksdb)
if(ROCKSDB_INCLUDE_DIR AND ROCKSDB_LIB)
  set(ROCKSDB_OK TRUE)
endif()
exc_require(ROCKSDB_OK "RocksDB" "librocksdb-dev")
add_library(RocksDB::rocksdb SHARED IMPORTED)
set_target_properties(RocksDB::rocksdb PROPERTIES
  IMPORTED_LOCATION "${ROCKSDB_LIB}" INTERFACE_INCLUDE_DIRECTORIES "${ROCKSDB_INCLUDE_DIR}")

find_package(nlohmann_json 3 CONFIG QUIET)
exc_require(nlohmann_json_FOUND "nlohmann/json" "nlohmann-json3-dev")

pkg_check_modules(GMIME QUIET IMPORTED_TARGET gmime-3.0)
exc_require(GMIME_FOUND "GMime 3" "libgmime-3.0-dev")

find_package(spdlog CONFIG QUIET)
exc_require(spdlog_FOUND "spdlog" "libspdlog-dev")

# jemalloc: the allocator of the two servers (exc_allocator below). Not under the
# sanitizers, which bring their own.
pkg_check_modules(JEMALLOC QUIET IMPORTED_TARGET jemalloc)
exc_require(JEMALLOC_FOUND "jemalloc" "libjemalloc-dev")
add_library(exc_allocator INTERFACE)
if(NOT EXC_SANITIZE AND NOT EXC_FUZZ)
  target_link_libraries(exc_allocator INTERFACE PkgConfig::JEMALLOC)
endif()
