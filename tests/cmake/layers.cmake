# The layers are enforced by the build (CMakeLists.txt, "the layers"): a
# source of one layer that includes a header of a layer above it does not
# compile.  Each probe is an object library outside the default build, made
# of tests/layers/probe.c including one header, against one layer's target;
# the test builds it and passes on the compiler's "No such file" for the
# upward header (and, for the downward controls, on a successful build).
function(tcet_layer_probe name layer header expect)
  add_library(tcet_probe_${name} OBJECT EXCLUDE_FROM_ALL ${CMAKE_CURRENT_SOURCE_DIR}/layers/probe.c)
  target_compile_definitions(tcet_probe_${name} PRIVATE "TCET_PROBE_HEADER=\"${header}\"")
  target_link_libraries(tcet_probe_${name} PRIVATE ${layer})
  add_test(NAME build.layers_${name}
           COMMAND ${CMAKE_COMMAND} --build ${CMAKE_BINARY_DIR} --target tcet_probe_${name})
  if(expect STREQUAL "fails")
    string(REGEX REPLACE "([.])" "[.]" hre "${header}")
    set_tests_properties(build.layers_${name} PROPERTIES PASS_REGULAR_EXPRESSION "${hre}: No such file")
  endif()
  set_tests_properties(build.layers_${name} PROPERTIES LABELS build RESOURCE_LOCK tcet_build_tree TIMEOUT 300)
endfunction()
# upward includes: refused
tcet_layer_probe(common_up_worker tcet_common worker/scorer.h fails)
tcet_layer_probe(common_up_kernels tcet_common kernels/backend.h fails)
tcet_layer_probe(kernels_up_worker tcet_kernels worker/net.h fails)
tcet_layer_probe(worker_up_master tcet_worker master/search.h fails)
tcet_layer_probe(master_up_cli tcet_master cli/commands.h fails)
# the same headers from their own layer or above: built
tcet_layer_probe(worker_own tcet_worker worker/scorer.h builds)
tcet_layer_probe(master_down tcet_master worker/net.h builds)
tcet_layer_probe(kernels_down tcet_kernels common/error.h builds)
