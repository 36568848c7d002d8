
# Consider dependencies only in project.
set(CMAKE_DEPENDS_IN_PROJECT_ONLY OFF)

# The set of languages for which implicit dependencies are needed:
set(CMAKE_DEPENDS_LANGUAGES
  )

# The set of dependency files which are needed:
set(CMAKE_DEPENDS_DEPENDENCY_FILES
  "/work/main/tests/unit/test_err.c" "tests/CMakeFiles/test_err.dir/unit/test_err.c.o" "gcc" "tests/CMakeFiles/test_err.dir/unit/test_err.c.o.d"
  "/work/main/tests/unit/wk_test.c" "tests/CMakeFiles/test_err.dir/unit/wk_test.c.o" "gcc" "tests/CMakeFiles/test_err.dir/unit/wk_test.c.o.d"
  )

# Targets to which this target links.
set(CMAKE_TARGET_LINKED_INFO_FILES
  "/work/main/build/CMakeFiles/weightkit.dir/DependInfo.cmake"
  )

# Fortran module output directory.
set(CMAKE_Fortran_TARGET_MODULE_DIR "")
