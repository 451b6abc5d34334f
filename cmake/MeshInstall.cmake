# What `cmake --install` puts under the prefix, so a plug-in builds outside
# the source tree (examples/plugin-outside/):
#   bin/                  meshnode, meshctl
#   lib/                  the Mesh libraries (libmesh_node.so and what it needs)
#   lib/mesh/plugins/     the example handler plug-in (meshnode's default)
#   include/mesh/         every public header, by its path in the tree
#                         ("node/plugin_api.hpp"), generated ones included
#                         (protocol/mesh.pb.h, protocol/version.hpp)
#   lib/cmake/Mesh/       find_package(Mesh): imported targets Mesh::plugin,
#                         Mesh::node, ..., Mesh::meshnode, Mesh::meshctl
#   lib/pkgconfig/mesh.pc pkg-config --cflags --libs mesh
#
# Included last by the top CMakeLists.txt: the libraries are found by walking
# the folders, so a new library folder is installed and exported without
# touching this file.
include(CMakePackageConfigHelpers)

set(MESH_PLUGIN_DIR "${MESH_INSTALL_LIBDIR}/mesh/plugins")
set(MESH_CMAKE_DIR "${MESH_INSTALL_LIBDIR}/cmake/Mesh")

# Every shared library named mesh_* outside tests/, bench/ and examples/
# (those hold test plug-ins and benchmark helpers, not the SDK).
function(mesh_collect_libraries dir out)
  get_property(targets DIRECTORY "${dir}" PROPERTY BUILDSYSTEM_TARGETS)
  set(found "")
  foreach(t IN LISTS targets)
    get_target_property(type ${t} TYPE)
    if(type STREQUAL "SHARED_LIBRARY" AND t MATCHES "^mesh_")
      list(APPEND found ${t})
    endif()
  endforeach()
  get_property(subdirs DIRECTORY "${dir}" PROPERTY SUBDIRECTORIES)
  foreach(sub IN LISTS subdirs)
    file(RELATIVE_PATH rel "${PROJECT_SOURCE_DIR}" "${sub}")
    if(NOT rel MATCHES "^(tests|bench|examples)(/|$)")
      mesh_collect_libraries("${sub}" sub_found)
      list(APPEND found ${sub_found})
    endif()
  endforeach()
  set(${out} ${found} PARENT_SCOPE)
endfunction()
mesh_collect_libraries("${PROJECT_SOURCE_DIR}" MESH_SDK_LIBRARIES)

# Mesh::plugin: everything a plug-in compiles and links against.
add_library(mesh_plugin INTERFACE)
target_link_libraries(mesh_plugin INTERFACE mesh_node)
target_compile_features(mesh_plugin INTERFACE cxx_std_17)
add_library(Mesh::plugin ALIAS mesh_plugin)
set_target_properties(mesh_plugin PROPERTIES EXPORT_NAME plugin)

set(MESH_HEADER_DIRS "")
foreach(lib IN LISTS MESH_SDK_LIBRARIES)
  # mesh_node -> Mesh::node
  string(REGEX REPLACE "^mesh_" "" export_name ${lib})
  set_target_properties(${lib} PROPERTIES EXPORT_NAME ${export_name})
  get_target_property(src ${lib} SOURCE_DIR)
  list(APPEND MESH_HEADER_DIRS "${src}")
endforeach()
list(REMOVE_DUPLICATES MESH_HEADER_DIRS)

install(TARGETS ${MESH_SDK_LIBRARIES} mesh_plugin meshnode meshctl
  EXPORT MeshTargets
  RUNTIME DESTINATION bin
  LIBRARY DESTINATION "${MESH_INSTALL_LIBDIR}"
  ARCHIVE DESTINATION "${MESH_INSTALL_LIBDIR}")
install(EXPORT MeshTargets NAMESPACE Mesh:: DESTINATION "${MESH_CMAKE_DIR}")

# The plug-ins meshnode loads by bare name (node/plugins/plugin_loader.cpp looks in
# <bin>/../lib/mesh/plugins); from there the libraries are two levels up.
set_target_properties(mesh_example_handlers PROPERTIES
  INSTALL_RPATH "$ORIGIN/../..")
install(TARGETS mesh_example_handlers LIBRARY DESTINATION "${MESH_PLUGIN_DIR}")

# Headers keep their path in the tree: `#include "node/plugin_api.hpp"` with
# -I<prefix>/include/mesh. The build tree holds the generated ones.
foreach(dir IN LISTS MESH_HEADER_DIRS)
  file(RELATIVE_PATH rel "${PROJECT_SOURCE_DIR}" "${dir}")
  install(DIRECTORY "${dir}/" DESTINATION "${MESH_INSTALL_INCLUDEDIR}/${rel}"
    FILES_MATCHING PATTERN "*.hpp" PATTERN "*.h"
    PATTERN "meshctl" EXCLUDE PATTERN "schemas" EXCLUDE
    REGEX "/node/os/allocator\\.hpp$" EXCLUDE) # meshnode's own
  install(DIRECTORY "${PROJECT_BINARY_DIR}/${rel}/"
    DESTINATION "${MESH_INSTALL_INCLUDEDIR}/${rel}"
    FILES_MATCHING PATTERN "*.hpp" PATTERN "*.h"
    PATTERN "CMakeFiles" EXCLUDE)
endforeach()

# -- what MeshConfig.cmake must find before the targets can be imported ------
# Walk the link interfaces of the exported libraries; every imported target
# they name needs its find call in the package config.
# MESH_PC_LINKED: what pkg-config's users link, all but mesh_grpc's (a node
# opens it only to serve gRPC; a plug-in has no need of gRPC's .pc files).
set(MESH_LINKED "")
set(MESH_PC_LINKED "")
foreach(lib IN LISTS MESH_SDK_LIBRARIES)
  get_target_property(deps ${lib} INTERFACE_LINK_LIBRARIES)
  if(deps)
    list(APPEND MESH_LINKED ${deps})
    if(NOT lib STREQUAL "mesh_grpc")
      list(APPEND MESH_PC_LINKED ${deps})
    endif()
  endif()
endforeach()
list(REMOVE_DUPLICATES MESH_LINKED)

set(MESH_FIND_DEPENDENCIES "")
set(MESH_PC_REQUIRES "")
set(MESH_PC_REQUIRES_PRIVATE "")
set(MESH_PC_CAF_LIBS "")
macro(mesh_add_dependency line)
  string(APPEND MESH_FIND_DEPENDENCIES "${line}\n")
endmacro()
set(mesh_seen_namespaces "")
foreach(dep IN LISTS MESH_LINKED)
  if(TARGET ${dep} AND NOT dep MATCHES "^mesh_")
    string(REGEX MATCH "^[^:]+" ns "${dep}")
    if(ns STREQUAL "PkgConfig")
      # pkg_check_modules(PREFIX ... IMPORTED_TARGET) made PkgConfig::PREFIX;
      # the config recreates it under the same name.
      string(REGEX REPLACE "^PkgConfig::" "" prefix "${dep}")
      set(module "${${prefix}_MODULE_NAME}")
      if(NOT module)
        message(FATAL_ERROR "MeshInstall: no pkg-config module known for ${dep}")
      endif()
      list(APPEND mesh_pkg_prefixes "${prefix}")
      mesh_add_dependency("if(NOT TARGET ${dep})\n  pkg_check_modules(${prefix} REQUIRED IMPORTED_TARGET ${module})\nendif()")
      if(dep IN_LIST MESH_PC_LINKED)
        list(APPEND MESH_PC_REQUIRES_PRIVATE "${module}")
      endif()
      continue()
    endif()
    if(ns IN_LIST mesh_seen_namespaces)
      continue()
    endif()
    list(APPEND mesh_seen_namespaces "${ns}")
    if(ns STREQUAL "CAF")
      mesh_add_dependency("find_dependency(CAF 0.17)")
    elseif(ns STREQUAL "protobuf")
      mesh_add_dependency("find_dependency(Protobuf)")
      list(APPEND MESH_PC_REQUIRES protobuf)
    elseif(ns STREQUAL "nlohmann_json")
      mesh_add_dependency("find_dependency(nlohmann_json 3)")
      list(APPEND MESH_PC_REQUIRES nlohmann_json)
    elseif(ns STREQUAL "spdlog")
      mesh_add_dependency("find_dependency(spdlog)")
      list(APPEND MESH_PC_REQUIRES spdlog)
    elseif(ns STREQUAL "OpenSSL")
      mesh_add_dependency("find_dependency(OpenSSL)")
      list(APPEND MESH_PC_REQUIRES_PRIVATE openssl)
    elseif(ns STREQUAL "SQLite")
      mesh_add_dependency("find_dependency(SQLite3)")
      list(APPEND MESH_PC_REQUIRES_PRIVATE sqlite3)
    elseif(ns STREQUAL "Threads")
      mesh_add_dependency("find_dependency(Threads)")
    else()
      message(FATAL_ERROR "MeshInstall: the exported libraries link ${dep}; "
                          "teach cmake/MeshInstall.cmake how MeshConfig.cmake "
                          "finds it")
    endif()
  endif()
endforeach()
# FindCAF.cmake wants Threads; pkg_check_modules wants PkgConfig.
if(mesh_pkg_prefixes)
  string(PREPEND MESH_FIND_DEPENDENCIES "find_dependency(PkgConfig)\n")
endif()
string(PREPEND MESH_FIND_DEPENDENCIES "find_dependency(Threads)\n")

configure_package_config_file(cmake/MeshConfig.cmake.in
  "${PROJECT_BINARY_DIR}/MeshConfig.cmake"
  INSTALL_DESTINATION "${MESH_CMAKE_DIR}"
  PATH_VARS MESH_INSTALL_INCLUDEDIR MESH_PLUGIN_DIR)
# 0.x: a minor release may change the plug-in ABI (plugin_abi_version).
write_basic_package_version_file("${PROJECT_BINARY_DIR}/MeshConfigVersion.cmake"
  VERSION "${PROJECT_VERSION}" COMPATIBILITY SameMinorVersion)
install(FILES "${PROJECT_BINARY_DIR}/MeshConfig.cmake"
              "${PROJECT_BINARY_DIR}/MeshConfigVersion.cmake"
              "${PROJECT_SOURCE_DIR}/cmake/FindCAF.cmake"
        DESTINATION "${MESH_CMAKE_DIR}")

# -- pkg-config ----------------------------------------------------------------
# mesh_node first: the library a plug-in uses; the rest for inline code of the
# headers, but not mesh_grpc (a node opens it only to serve gRPC: a plug-in
# linked to it would load gRPC into every node). CAF has no .pc file in
# Debian: named by its library path.
set(MESH_PC_LIBS "-lmesh_node")
foreach(lib IN LISTS MESH_SDK_LIBRARIES)
  if(NOT lib STREQUAL "mesh_node" AND NOT lib STREQUAL "mesh_grpc")
    string(APPEND MESH_PC_LIBS " -l${lib}")
  endif()
endforeach()
get_filename_component(caf_libdir "${CAF_CORE_LIBRARY}" DIRECTORY)
if(NOT caf_libdir MATCHES "^/(usr/)?lib")
  string(APPEND MESH_PC_LIBS " -L${caf_libdir}")
endif()
if(CAF_OPENSSL_LIBRARY)
  string(APPEND MESH_PC_LIBS " -lcaf_openssl")
endif()
string(APPEND MESH_PC_LIBS " -lcaf_io -lcaf_core")
set(MESH_PC_CFLAGS "-I\${includedir}")
if(NOT CAF_INCLUDE_DIR STREQUAL "/usr/include")
  string(APPEND MESH_PC_CFLAGS " -I${CAF_INCLUDE_DIR}")
endif()
list(REMOVE_DUPLICATES MESH_PC_REQUIRES_PRIVATE)
list(JOIN MESH_PC_REQUIRES " " MESH_PC_REQUIRES)
list(JOIN MESH_PC_REQUIRES_PRIVATE " " MESH_PC_REQUIRES_PRIVATE)
configure_file(cmake/mesh.pc.in "${PROJECT_BINARY_DIR}/mesh.pc" @ONLY)
install(FILES "${PROJECT_BINARY_DIR}/mesh.pc"
        DESTINATION "${MESH_INSTALL_LIBDIR}/pkgconfig")
