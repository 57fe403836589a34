# Runs that do what the user asked, or refuse (issue 12): synthetic data only
# when asked, strict resume, honest backends, the reference training commands,
# the previous checkpoint, --print-config.
tcet_add_script_test(export_train integration 60)
tcet_add_script_test(search_data integration 60)
tcet_add_script_test(search_resume_strict integration 60)
tcet_add_script_test(search_ckpt_fallback integration 120)
tcet_add_script_test(backend_cuda_refuse integration 60)
