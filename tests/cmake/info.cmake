# tcet info and the architecture layer, end to end (tests/integration/*.sh).
tcet_add_script_test(info_cli integration 120)
tcet_add_script_test(crosscheck_python integration 600)
tcet_add_script_test(mutation_golden integration 120)
