# tcet inspect / plot / export on a run made by the test.
tcet_add_script_test(report_tools integration 120)
