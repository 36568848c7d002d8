
# Consider dependencies only in project.
set(CMAKE_DEPENDS_IN_PROJECT_ONLY OFF)

# The set of languages for which implicit dependencies are needed:
set(CMAKE_DEPENDS_LANGUAGES
  )

# The set of dependency files which are needed:
set(CMAKE_DEPENDS_DEPENDENCY_FILES
  "/work/main/common/wk_buf.c" "CMakeFiles/weightkit.dir/common/wk_buf.c.o" "gcc" "CMakeFiles/weightkit.dir/common/wk_buf.c.o.d"
  "/work/main/common/wk_cli.c" "CMakeFiles/weightkit.dir/common/wk_cli.c.o" "gcc" "CMakeFiles/weightkit.dir/common/wk_cli.c.o.d"
  "/work/main/common/wk_cursor.c" "CMakeFiles/weightkit.dir/common/wk_cursor.c.o" "gcc" "CMakeFiles/weightkit.dir/common/wk_cursor.c.o.d"
  "/work/main/common/wk_err.c" "CMakeFiles/weightkit.dir/common/wk_err.c.o" "gcc" "CMakeFiles/weightkit.dir/common/wk_err.c.o.d"
  "/work/main/common/wk_half.c" "CMakeFiles/weightkit.dir/common/wk_half.c.o" "gcc" "CMakeFiles/weightkit.dir/common/wk_half.c.o.d"
  "/work/main/common/wk_hash.c" "CMakeFiles/weightkit.dir/common/wk_hash.c.o" "gcc" "CMakeFiles/weightkit.dir/common/wk_hash.c.o.d"
  "/work/main/common/wk_io.c" "CMakeFiles/weightkit.dir/common/wk_io.c.o" "gcc" "CMakeFiles/weightkit.dir/common/wk_io.c.o.d"
  "/work/main/common/wk_json.c" "CMakeFiles/weightkit.dir/common/wk_json.c.o" "gcc" "CMakeFiles/weightkit.dir/common/wk_json.c.o.d"
  "/work/main/common/wk_progress.c" "CMakeFiles/weightkit.dir/common/wk_progress.c.o" "gcc" "CMakeFiles/weightkit.dir/common/wk_progress.c.o.d"
  "/work/main/common/wk_threads.c" "CMakeFiles/weightkit.dir/common/wk_threads.c.o" "gcc" "CMakeFiles/weightkit.dir/common/wk_threads.c.o.d"
  "/work/main/formats/wk_convert.c" "CMakeFiles/weightkit.dir/formats/wk_convert.c.o" "gcc" "CMakeFiles/weightkit.dir/formats/wk_convert.c.o.d"
  "/work/main/formats/wk_gguf.c" "CMakeFiles/weightkit.dir/formats/wk_gguf.c.o" "gcc" "CMakeFiles/weightkit.dir/formats/wk_gguf.c.o.d"
  "/work/main/formats/wk_gguf_llama.c" "CMakeFiles/weightkit.dir/formats/wk_gguf_llama.c.o" "gcc" "CMakeFiles/weightkit.dir/formats/wk_gguf_llama.c.o.d"
  "/work/main/formats/wk_hfcfg.c" "CMakeFiles/weightkit.dir/formats/wk_hfcfg.c.o" "gcc" "CMakeFiles/weightkit.dir/formats/wk_hfcfg.c.o.d"
  "/work/main/formats/wk_llama.c" "CMakeFiles/weightkit.dir/formats/wk_llama.c.o" "gcc" "CMakeFiles/weightkit.dir/formats/wk_llama.c.o.d"
  "/work/main/formats/wk_manifest.c" "CMakeFiles/weightkit.dir/formats/wk_manifest.c.o" "gcc" "CMakeFiles/weightkit.dir/formats/wk_manifest.c.o.d"
  "/work/main/formats/wk_pickle.c" "CMakeFiles/weightkit.dir/formats/wk_pickle.c.o" "gcc" "CMakeFiles/weightkit.dir/formats/wk_pickle.c.o.d"
  "/work/main/formats/wk_pth.c" "CMakeFiles/weightkit.dir/formats/wk_pth.c.o" "gcc" "CMakeFiles/weightkit.dir/formats/wk_pth.c.o.d"
  "/work/main/formats/wk_pth_write.c" "CMakeFiles/weightkit.dir/formats/wk_pth_write.c.o" "gcc" "CMakeFiles/weightkit.dir/formats/wk_pth_write.c.o.d"
  "/work/main/formats/wk_quant_avx2.c" "CMakeFiles/weightkit.dir/formats/wk_quant_avx2.c.o" "gcc" "CMakeFiles/weightkit.dir/formats/wk_quant_avx2.c.o.d"
  "/work/main/formats/wk_quant_chunk.c" "CMakeFiles/weightkit.dir/formats/wk_quant_chunk.c.o" "gcc" "CMakeFiles/weightkit.dir/formats/wk_quant_chunk.c.o.d"
  "/work/main/formats/wk_quant_dequant.c" "CMakeFiles/weightkit.dir/formats/wk_quant_dequant.c.o" "gcc" "CMakeFiles/weightkit.dir/formats/wk_quant_dequant.c.o.d"
  "/work/main/formats/wk_quant_ref.c" "CMakeFiles/weightkit.dir/formats/wk_quant_ref.c.o" "gcc" "CMakeFiles/weightkit.dir/formats/wk_quant_ref.c.o.d"
  "/work/main/formats/wk_quant_search.c" "CMakeFiles/weightkit.dir/formats/wk_quant_search.c.o" "gcc" "CMakeFiles/weightkit.dir/formats/wk_quant_search.c.o.d"
  "/work/main/formats/wk_safetensors.c" "CMakeFiles/weightkit.dir/formats/wk_safetensors.c.o" "gcc" "CMakeFiles/weightkit.dir/formats/wk_safetensors.c.o.d"
  "/work/main/formats/wk_sink.c" "CMakeFiles/weightkit.dir/formats/wk_sink.c.o" "gcc" "CMakeFiles/weightkit.dir/formats/wk_sink.c.o.d"
  "/work/main/formats/wk_source.c" "CMakeFiles/weightkit.dir/formats/wk_source.c.o" "gcc" "CMakeFiles/weightkit.dir/formats/wk_source.c.o.d"
  "/work/main/formats/wk_spm.c" "CMakeFiles/weightkit.dir/formats/wk_spm.c.o" "gcc" "CMakeFiles/weightkit.dir/formats/wk_spm.c.o.d"
  "/work/main/formats/wk_stats.c" "CMakeFiles/weightkit.dir/formats/wk_stats.c.o" "gcc" "CMakeFiles/weightkit.dir/formats/wk_stats.c.o.d"
  "/work/main/formats/wk_tensor.c" "CMakeFiles/weightkit.dir/formats/wk_tensor.c.o" "gcc" "CMakeFiles/weightkit.dir/formats/wk_tensor.c.o.d"
  "/work/main/formats/wk_xor.c" "CMakeFiles/weightkit.dir/formats/wk_xor.c.o" "gcc" "CMakeFiles/weightkit.dir/formats/wk_xor.c.o.d"
  )

# Targets to which this target links.
set(CMAKE_TARGET_LINKED_INFO_FILES
  )

# Fortran module output directory.
set(CMAKE_Fortran_TARGET_MODULE_DIR "")
