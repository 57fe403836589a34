# tcet inspect / plot / export on a run made by the test (issue 6).
tcet_add_script_test(report_tools integration 120)
