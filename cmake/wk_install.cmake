# ---- install, library, package (issue #21; docs/install.md) -------------
# Included once at the end of the top-level CMakeLists.txt, after the layers
# (WK_LAYER_TARGETS), the static `weightkit` and the tools (WK_TOOL_SOURCES)
# exist.  Everything loops over what exists: a new tools/wk-*.c or a new
# layer is installed without an edit here.
include(GNUInstallDirs)
include(CMakePackageConfigHelpers)

# SONAME: libweightkit.so.<major>.<minor> while the version is 0.x (every
# minor release may change the ABI), libweightkit.so.<major> from 1.0.
if(PROJECT_VERSION_MAJOR EQUAL 0)
  set(WK_SOVERSION ${PROJECT_VERSION_MAJOR}.${PROJECT_VERSION_MINOR})
else()
  set(WK_SOVERSION ${PROJECT_VERSION_MAJOR})
endif()

# One set of objects for both libraries: the layers are compiled as PIC
# (free on x86-64, where the tools are PIE anyway); -fno-semantic-interposition
# keeps the inlining a non-PIC build gets inside a translation unit.
foreach(t ${WK_LAYER_TARGETS})
  set_target_properties(${t} PROPERTIES POSITION_INDEPENDENT_CODE ON)
  target_compile_options(${t} PRIVATE -fno-semantic-interposition)
endforeach()

# libweightkit.so: the same objects as libweightkit.a; the system libraries
# become its DT_NEEDED entries.
add_library(weightkit_shared SHARED)
target_link_libraries(weightkit_shared PRIVATE ${WK_LAYER_TARGETS})
set_target_properties(weightkit_shared PROPERTIES OUTPUT_NAME weightkit
  VERSION ${PROJECT_VERSION} SOVERSION ${WK_SOVERSION}
  LIBRARY_OUTPUT_DIRECTORY ${CMAKE_BINARY_DIR})
if(NOT WK_SANITIZE AND NOT WK_FUZZ)  # sanitizer runtimes are not linked into shared objects
  target_link_options(weightkit_shared PRIVATE -Wl,--no-undefined)
endif()

# ---- the manifest lookup of wk-xor (tools/wk_xor_dirs.h) ------------------
set(WK_INSTALL_CHECKSUMS_DIR ${CMAKE_INSTALL_DATADIR}/weightkit/checksums)
file(RELATIVE_PATH WK_BIN_TO_CHECKSUMS ${CMAKE_INSTALL_FULL_BINDIR}
     ${CMAKE_INSTALL_FULL_DATADIR}/weightkit/checksums)
if(TARGET wk-xor)
  target_compile_definitions(wk-xor PRIVATE
    WK_BUILD_BIN_DIR="${CMAKE_RUNTIME_OUTPUT_DIRECTORY}"
    WK_SOURCE_CHECKSUMS_DIR="${CMAKE_SOURCE_DIR}/checksums"
    WK_BIN_TO_CHECKSUMS="${WK_BIN_TO_CHECKSUMS}"
    WK_INSTALL_CHECKSUMS_DIR="${CMAKE_INSTALL_FULL_DATADIR}/weightkit/checksums")
endif()

# ---- what is installed ----------------------------------------------------
set(WK_TOOL_NAMES "")
foreach(src ${WK_TOOL_SOURCES})
  get_filename_component(name ${src} NAME_WE)
  list(APPEND WK_TOOL_NAMES ${name})
  install(TARGETS ${name} RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
endforeach()
install(TARGETS weightkit ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR})
install(TARGETS weightkit_shared LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR})
install(DIRECTORY ${CMAKE_SOURCE_DIR}/checksums/ DESTINATION ${WK_INSTALL_CHECKSUMS_DIR}
        FILES_MATCHING PATTERN "*.sha256")

# Public headers: the public folders of the library layers L0-L3 (common/,
# formats/<container>/, formats/quant/, formats/llama/) — never a private
# folder (internal/, x86/) nor an engine's (tools/<engine>/, L4: the tools'
# internals).  Flat under include/weightkit/, as the headers include each
# other by bare name; a name clash is a configure error.
set(WK_PUBLIC_HEADERS "")
set(WK_PUBLIC_HEADER_NAMES "")
foreach(t ${WK_LAYER_TARGETS})
  if(t MATCHES "^wk_eng_")
    continue()
  endif()
  get_target_property(dirs ${t} INTERFACE_INCLUDE_DIRECTORIES)
  foreach(d ${dirs})
    file(GLOB hs CONFIGURE_DEPENDS ${d}/*.h)
    foreach(h ${hs})
      get_filename_component(hn ${h} NAME)
      if(hn IN_LIST WK_PUBLIC_HEADER_NAMES)
        message(FATAL_ERROR "two public headers named ${hn}: install(include/weightkit) is flat")
      endif()
      list(APPEND WK_PUBLIC_HEADER_NAMES ${hn})
      list(APPEND WK_PUBLIC_HEADERS ${h})
    endforeach()
  endforeach()
endforeach()
install(FILES ${WK_PUBLIC_HEADERS} DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}/weightkit)

# ---- pkg-config: weightkit.pc (relocatable through ${pcfiledir}) ---------
# Requires.private / Libs.private: what a static link (pkg-config --static)
# needs besides libweightkit.a; the shared library carries them as DT_NEEDED.
set(WK_PC_REQUIRES_PRIVATE "zlib libcrypto libzip libxxhash libpcre2-8")
if(WK_ISAL_BUILT)
  string(APPEND WK_PC_REQUIRES_PRIVATE " libisal")
endif()
set(WK_PC_LIBS_PRIVATE "")
foreach(l ${OpenMP_C_LIB_NAMES})
  string(APPEND WK_PC_LIBS_PRIVATE " -l${l}")
endforeach()
string(APPEND WK_PC_LIBS_PRIVATE " -lm")
string(STRIP "${WK_PC_LIBS_PRIVATE}" WK_PC_LIBS_PRIVATE)
set(WK_PKGCONFIG_DIR ${CMAKE_INSTALL_LIBDIR}/pkgconfig)
file(RELATIVE_PATH WK_PC_TO_PREFIX ${CMAKE_INSTALL_PREFIX}/${WK_PKGCONFIG_DIR} ${CMAKE_INSTALL_PREFIX})
string(REGEX REPLACE "/$" "" WK_PC_TO_PREFIX "${WK_PC_TO_PREFIX}")
configure_file(${CMAKE_SOURCE_DIR}/cmake/weightkit.pc.in ${CMAKE_BINARY_DIR}/weightkit.pc @ONLY)
install(FILES ${CMAKE_BINARY_DIR}/weightkit.pc DESTINATION ${WK_PKGCONFIG_DIR})

# ---- CMake package: find_package(weightkit) -> weightkit::weightkit ------
set(WK_CMAKE_DIR ${CMAKE_INSTALL_LIBDIR}/cmake/weightkit)
configure_package_config_file(${CMAKE_SOURCE_DIR}/cmake/weightkitConfig.cmake.in
  ${CMAKE_BINARY_DIR}/weightkitConfig.cmake INSTALL_DESTINATION ${WK_CMAKE_DIR}
  PATH_VARS CMAKE_INSTALL_INCLUDEDIR CMAKE_INSTALL_LIBDIR)
write_basic_package_version_file(${CMAKE_BINARY_DIR}/weightkitConfigVersion.cmake
  VERSION ${PROJECT_VERSION} COMPATIBILITY SameMinorVersion)
install(FILES ${CMAKE_BINARY_DIR}/weightkitConfig.cmake
              ${CMAKE_BINARY_DIR}/weightkitConfigVersion.cmake DESTINATION ${WK_CMAKE_DIR})

# ---- man pages (section 1, generated from each tool's --help) ------------
# help2man (Debian: help2man) runs the built tool; --version-string keeps the
# page free of build paths.  Without help2man no pages are built (a warning).
find_program(WK_HELP2MAN help2man)
# The page's date: $SOURCE_DATE_EPOCH if set, else the last commit's time, so the
# same source gives the same page bytes (help2man honours SOURCE_DATE_EPOCH).
set(WK_MAN_EPOCH "$ENV{SOURCE_DATE_EPOCH}")
if(NOT WK_MAN_EPOCH)
  execute_process(COMMAND git -C ${CMAKE_SOURCE_DIR} log -1 --format=%ct
                  OUTPUT_VARIABLE WK_MAN_EPOCH OUTPUT_STRIP_TRAILING_WHITESPACE
                  RESULT_VARIABLE wk_git_rc ERROR_QUIET)
  if(NOT wk_git_rc EQUAL 0 OR NOT WK_MAN_EPOCH MATCHES "^[0-9]+$")
    set(WK_MAN_EPOCH 0)
  endif()
endif()
set(WK_MAN_NAMES
  "wk-bench=matmul fidelity and kernel speed of ggml weight formats"
  "wk-convert=convert a Meta LLaMA checkpoint to the HuggingFace layout"
  "wk-eval=perplexity of a LLaMA-family model with weightkit's own forward pass"
  "wk-inspect=list the tensors of checkpoint files"
  "wk-pack=pack a model into one GGUF or safetensors file"
  "wk-quantize=quantize a model to ggml block types"
  "wk-xor=decode and encode XOR-diff model releases, verified by SHA-256")
if(WK_HELP2MAN)
  set(WK_MAN_PAGES "")
  foreach(name ${WK_TOOL_NAMES})
    set(desc "a weightkit tool")  # a new tool without a line above
    foreach(kv ${WK_MAN_NAMES})
      if(kv MATCHES "^${name}=(.*)$")
        set(desc "${CMAKE_MATCH_1}")
      endif()
    endforeach()
    # help2man reads "Usage:" / "  or:" for the SYNOPSIS; the tools print
    # "usage:" and align further forms: a wrapper named like the tool adapts it.
    set(page ${CMAKE_BINARY_DIR}/man/${name}.1)
    set(wrap ${CMAKE_BINARY_DIR}/man/help2man/${name})
    add_custom_command(OUTPUT ${page}
      COMMAND ${CMAKE_COMMAND} -E make_directory ${CMAKE_BINARY_DIR}/man/help2man
      COMMAND ${CMAKE_COMMAND} -E create_symlink ${CMAKE_SOURCE_DIR}/cmake/wk-help2man-wrap.sh ${wrap}
      COMMAND ${CMAKE_COMMAND} -E env WK_HELP2MAN_BIN=$<TARGET_FILE_DIR:${name}>
              SOURCE_DATE_EPOCH=${WK_MAN_EPOCH}
              ${WK_HELP2MAN} --no-info --no-discard-stderr --section=1
              --version-string=${PROJECT_VERSION} --source=weightkit
              "--name=${desc}" --output=${page} ${wrap}
      DEPENDS ${name} ${CMAKE_SOURCE_DIR}/cmake/wk-help2man-wrap.sh VERBATIM)
    list(APPEND WK_MAN_PAGES ${page})
  endforeach()
  add_custom_target(wk_man ALL DEPENDS ${WK_MAN_PAGES})
  install(FILES ${WK_MAN_PAGES} DESTINATION ${CMAKE_INSTALL_MANDIR}/man1)
else()
  message(WARNING "help2man not found: no man pages (apt-get install help2man)")
endif()

# ---- bash completions: one script, installed under each tool's name -------
list(JOIN WK_TOOL_NAMES " " WK_TOOL_LIST)
configure_file(${CMAKE_SOURCE_DIR}/cmake/weightkit.bash-completion.in
               ${CMAKE_BINARY_DIR}/weightkit.bash-completion @ONLY)
foreach(name ${WK_TOOL_NAMES})
  install(FILES ${CMAKE_BINARY_DIR}/weightkit.bash-completion
          DESTINATION ${CMAKE_INSTALL_DATADIR}/bash-completion/completions RENAME ${name})
endforeach()

# ---- CPack: a .deb (cpack -G DEB in the build directory) -----------------
set(CPACK_PACKAGE_NAME weightkit)
set(CPACK_PACKAGE_VENDOR weightkit)
set(CPACK_PACKAGE_CONTACT "weightkit maintainers <weightkit@localhost>")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY
    "LLaMA-family weights to verified model files (convert, xor, pack, quantize)")
set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_SECTION science)
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)  # Depends from dpkg-shlibdeps
set(CPACK_DEBIAN_PACKAGE_GENERATE_SHLIBS ON)
include(CPack)
