# tcet search: master/worker search, checkpoints, resume, signals.
tcet_add_script_test(search_ranks integration 120)
tcet_add_script_test(search_resume integration 180)
tcet_add_script_test(search_refuse integration 120)
tcet_add_script_test(search_failures integration 60)
tcet_add_script_test(search_startup integration 120)
tcet_add_script_test(search_lock integration 120)
tcet_add_script_test(search_lanes integration 180)
tcet_add_script_test(binding_layouts integration 180)
