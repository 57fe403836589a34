# Micro-benchmarks (built, never run by ctest): tcet_bench_ops prints GFLOP/s
# of the CPU backend's convolutions next to a plain cblas_sgemm.
add_executable(tcet_bench_ops ${CMAKE_CURRENT_SOURCE_DIR}/perf/bench_ops.c)
target_link_libraries(tcet_bench_ops PRIVATE tcet_core)
