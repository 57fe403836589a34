# Latency budget (issues 4.1/5.3): huge budget accepts all, tiny rejects all
# with reason "latency" (tests/integration/search_latency.sh).
tcet_add_script_test(search_latency integration 120)
