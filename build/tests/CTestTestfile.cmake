# CMake generated Testfile for 
# Source directory: /work/main/tests
# Build directory: /work/main/build/tests
# 
# This file includes the relevant testing commands required for 
# testing this directory and lists subdirectories to be tested as well.
add_test([=[unit.test_cli]=] "/work/main/build/tests/test_cli")
set_tests_properties([=[unit.test_cli]=] PROPERTIES  ENVIRONMENT "WK_SOURCE_DIR=/work/main;WK_BIN_DIR=/work/main/build/bin" _BACKTRACE_TRIPLES "/work/main/tests/CMakeLists.txt;9;add_test;/work/main/tests/CMakeLists.txt;0;")
add_test([=[unit.test_err]=] "/work/main/build/tests/test_err")
set_tests_properties([=[unit.test_err]=] PROPERTIES  ENVIRONMENT "WK_SOURCE_DIR=/work/main;WK_BIN_DIR=/work/main/build/bin" _BACKTRACE_TRIPLES "/work/main/tests/CMakeLists.txt;9;add_test;/work/main/tests/CMakeLists.txt;0;")
add_test([=[unit.test_half]=] "/work/main/build/tests/test_half")
set_tests_properties([=[unit.test_half]=] PROPERTIES  ENVIRONMENT "WK_SOURCE_DIR=/work/main;WK_BIN_DIR=/work/main/build/bin" _BACKTRACE_TRIPLES "/work/main/tests/CMakeLists.txt;9;add_test;/work/main/tests/CMakeLists.txt;0;")
add_test([=[unit.test_hash]=] "/work/main/build/tests/test_hash")
set_tests_properties([=[unit.test_hash]=] PROPERTIES  ENVIRONMENT "WK_SOURCE_DIR=/work/main;WK_BIN_DIR=/work/main/build/bin" _BACKTRACE_TRIPLES "/work/main/tests/CMakeLists.txt;9;add_test;/work/main/tests/CMakeLists.txt;0;")
add_test([=[unit.test_io]=] "/work/main/build/tests/test_io")
set_tests_properties([=[unit.test_io]=] PROPERTIES  ENVIRONMENT "WK_SOURCE_DIR=/work/main;WK_BIN_DIR=/work/main/build/bin" _BACKTRACE_TRIPLES "/work/main/tests/CMakeLists.txt;9;add_test;/work/main/tests/CMakeLists.txt;0;")
add_test([=[unit.test_json]=] "/work/main/build/tests/test_json")
set_tests_properties([=[unit.test_json]=] PROPERTIES  ENVIRONMENT "WK_SOURCE_DIR=/work/main;WK_BIN_DIR=/work/main/build/bin" _BACKTRACE_TRIPLES "/work/main/tests/CMakeLists.txt;9;add_test;/work/main/tests/CMakeLists.txt;0;")
add_test([=[unit.test_manifest]=] "/work/main/build/tests/test_manifest")
set_tests_properties([=[unit.test_manifest]=] PROPERTIES  ENVIRONMENT "WK_SOURCE_DIR=/work/main;WK_BIN_DIR=/work/main/build/bin" _BACKTRACE_TRIPLES "/work/main/tests/CMakeLists.txt;9;add_test;/work/main/tests/CMakeLists.txt;0;")
add_test([=[unit.test_pickle]=] "/work/main/build/tests/test_pickle")
set_tests_properties([=[unit.test_pickle]=] PROPERTIES  ENVIRONMENT "WK_SOURCE_DIR=/work/main;WK_BIN_DIR=/work/main/build/bin" _BACKTRACE_TRIPLES "/work/main/tests/CMakeLists.txt;9;add_test;/work/main/tests/CMakeLists.txt;0;")
add_test([=[unit.test_pth_read]=] "/work/main/build/tests/test_pth_read")
set_tests_properties([=[unit.test_pth_read]=] PROPERTIES  ENVIRONMENT "WK_SOURCE_DIR=/work/main;WK_BIN_DIR=/work/main/build/bin" _BACKTRACE_TRIPLES "/work/main/tests/CMakeLists.txt;9;add_test;/work/main/tests/CMakeLists.txt;0;")
add_test([=[unit.test_pth_write]=] "/work/main/build/tests/test_pth_write")
set_tests_properties([=[unit.test_pth_write]=] PROPERTIES  ENVIRONMENT "WK_SOURCE_DIR=/work/main;WK_BIN_DIR=/work/main/build/bin" _BACKTRACE_TRIPLES "/work/main/tests/CMakeLists.txt;9;add_test;/work/main/tests/CMakeLists.txt;0;")
add_test([=[unit.test_xor]=] "/work/main/build/tests/test_xor")
set_tests_properties([=[unit.test_xor]=] PROPERTIES  ENVIRONMENT "WK_SOURCE_DIR=/work/main;WK_BIN_DIR=/work/main/build/bin" _BACKTRACE_TRIPLES "/work/main/tests/CMakeLists.txt;9;add_test;/work/main/tests/CMakeLists.txt;0;")
add_test([=[cli.xor]=] "bash" "/work/main/tests/cli/xor.sh")
set_tests_properties([=[cli.xor]=] PROPERTIES  ENVIRONMENT "WK_SOURCE_DIR=/work/main;WK_BIN_DIR=/work/main/build/bin;WK_TMP=/work/main/build/tmp/cli.xor" SKIP_RETURN_CODE "77" _BACKTRACE_TRIPLES "/work/main/tests/CMakeLists.txt;24;add_test;/work/main/tests/CMakeLists.txt;0;")
