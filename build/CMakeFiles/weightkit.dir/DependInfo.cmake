
# Consider dependencies only in project.
set(CMAKE_DEPENDS_IN_PROJECT_ONLY OFF)

# The set of languages for which implicit dependencies are needed:
set(CMAKE_DEPENDS_LANGUAGES
  )

# The set of dependency files which are needed:
set(CMAKE_DEPENDS_DEPENDENCY_FILES
  "/work/main/common/wk_buf.c" "CMakeFiles/weightkit.dir/common/wk_buf.c.o" "gcc" "CMakeFiles/weightkit.dir/common/wk_buf.c.o.d"
  "/work/main/common/wk_cursor.c" "CMakeFiles/weightkit.dir/common/wk_cursor.c.o" "gcc" "CMakeFiles/weightkit.dir/common/wk_cursor.c.o.d"
  "/work/main/common/wk_err.c" "CMakeFiles/weightkit.dir/common/wk_err.c.o" "gcc" "CMakeFiles/weightkit.dir/common/wk_err.c.o.d"
  "/work/main/formats/wk_tensor.c" "CMakeFiles/weightkit.dir/formats/wk_tensor.c.o" "gcc" "CMakeFiles/weightkit.dir/formats/wk_tensor.c.o.d"
  )

# Targets to which this target links.
set(CMAKE_TARGET_LINKED_INFO_FILES
  )

# Fortran module output directory.
set(CMAKE_Fortran_TARGET_MODULE_DIR "")
