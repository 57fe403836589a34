# tcet bench: functional check of the JSON/text output on the init structure
# (fields, reference FLOPs by hand, GFLOP/s = FLOPs / time); no timing assertion.
tcet_add_script_test(bench_cli integration 120)
