# Micro-benchmarks (built, never run by ctest): tcet_bench_ops prints GFLOP/s
# of the CPU backend's convolutions next to a plain cblas_sgemm.
add_executable(tcet_bench_ops ${CMAKE_CURRENT_SOURCE_DIR}/perf/bench_ops.c)
target_link_libraries(tcet_bench_ops PRIVATE tcet_master)
# tcet_master_throughput: the real master loop against simulated workers
# (tests/support/master_sim.c): candidates/s, master CPU per candidate and the
# workers' idle fraction for 8 ... 256 workers (docs/jobs.md).
add_executable(tcet_master_throughput ${CMAKE_CURRENT_SOURCE_DIR}/perf/master_throughput.c
               ${CMAKE_CURRENT_SOURCE_DIR}/support/master_sim.c)
target_include_directories(tcet_master_throughput PRIVATE ${CMAKE_CURRENT_SOURCE_DIR}/support)
target_link_libraries(tcet_master_throughput PRIVATE tcet_master)
