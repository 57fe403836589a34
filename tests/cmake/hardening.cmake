# Hardening: links in the run directory, signals during the final
# checkpoint, runs without a successful candidate, memory and disk faults
# (docs/reliability.md).  A few seconds each in a Release build; the limits
# leave room for the ASan+UBSan suite on a loaded 2-core machine.
tcet_add_script_test(search_links integration 240)
tcet_add_script_test(search_allfailed integration 180)
tcet_add_script_test(search_diskfull integration 180)
tcet_add_script_test(search_smaller integration 180)
tcet_add_script_test(search_signals integration 300)
tcet_add_script_test(score_memory integration 180)
