# Hardening (issue 13): links in the run directory, signals during the final
# checkpoint, runs without a successful candidate, memory and disk faults.
tcet_add_script_test(search_links integration 120)
tcet_add_script_test(search_allfailed integration 60)
tcet_add_script_test(search_diskfull integration 60)
tcet_add_script_test(search_smaller integration 60)
tcet_add_script_test(search_signals integration 120)
tcet_add_script_test(score_memory integration 60)
