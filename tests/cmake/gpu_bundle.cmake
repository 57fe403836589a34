# The GPU-machine bundle (tests/gpu/pack.sh): its single-process MPI stand-in
# must keep matching what tcet calls (a CPU test: it runs wherever tcet builds).
tcet_add_script_test(gpu_mpistub integration 120)
