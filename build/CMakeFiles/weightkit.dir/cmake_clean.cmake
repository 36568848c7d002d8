file(REMOVE_RECURSE
  "CMakeFiles/weightkit.dir/common/wk_buf.c.o"
  "CMakeFiles/weightkit.dir/common/wk_buf.c.o.d"
  "CMakeFiles/weightkit.dir/common/wk_cursor.c.o"
  "CMakeFiles/weightkit.dir/common/wk_cursor.c.o.d"
  "CMakeFiles/weightkit.dir/common/wk_err.c.o"
  "CMakeFiles/weightkit.dir/common/wk_err.c.o.d"
  "CMakeFiles/weightkit.dir/formats/wk_tensor.c.o"
  "CMakeFiles/weightkit.dir/formats/wk_tensor.c.o.d"
  "libweightkit.a"
  "libweightkit.pdb"
)

# Per-language clean rules from dependency scanning.
foreach(lang C)
  include(CMakeFiles/weightkit.dir/cmake_clean_${lang}.cmake OPTIONAL)
endforeach()
