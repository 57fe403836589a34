# tcet score end to end: golden T-CET totals, JSON, failure policy, exit codes.
tcet_add_script_test(score_cli integration 300)
