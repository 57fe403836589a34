# Runs that do what the user asked, or refuse: synthetic data only
# when asked, strict resume, honest backends, the reference training commands,
# the previous checkpoint, --print-config.  Timeouts leave room for the
# sanitizer build (about 5x slower than the release one).
tcet_add_script_test(export_train integration 150)
tcet_add_script_test(search_data integration 300)
tcet_add_script_test(search_resume_strict integration 180)
tcet_add_script_test(search_ckpt_fallback integration 180)
tcet_add_script_test(backend_cuda_refuse integration 150)
