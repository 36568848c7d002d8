# CMake generated Testfile for 
# Source directory: /work/main/tests
# Build directory: /work/main/build/tests
# 
# This file includes the relevant testing commands required for 
# testing this directory and lists subdirectories to be tested as well.
add_test([=[unit.test_err]=] "/work/main/build/tests/test_err")
set_tests_properties([=[unit.test_err]=] PROPERTIES  ENVIRONMENT "WK_SOURCE_DIR=/work/main;WK_BIN_DIR=/work/main/build/bin" _BACKTRACE_TRIPLES "/work/main/tests/CMakeLists.txt;9;add_test;/work/main/tests/CMakeLists.txt;0;")
