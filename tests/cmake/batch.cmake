# Batch scoring and validation: NAS-Bench-201 rows, formats, MPI
# distribution equal to one process, kill -9 + resume keeps the rows written.
tcet_add_script_test(score_batch integration 300)
tcet_add_script_test(validate_cli integration 300)
