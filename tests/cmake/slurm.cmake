# SLURM integration tests (label "slurm"): a single-node SLURM on loopback is
# started by the test itself (tests/integration/slurm_lib.sh); they skip with
# code 77 and a loud message when the daemons cannot be run or installed.
tcet_add_script_test(slurm_jobscript slurm 180)
if(EXISTS ${CMAKE_CURRENT_SOURCE_DIR}/integration/slurm_resume.sh)
  tcet_add_script_test(slurm_resume slurm 300)
endif()
# Stops: --time shorter than the warning, scancel, the time limit (~90 s).
tcet_add_script_test(slurm_stop slurm 300)
set_tests_properties(slurm.slurm_stop PROPERTIES RESOURCE_LOCK tcet_slurm)
# The workstation launcher (jobs/tcet-workstation.sh) with CPU workers; no SLURM.
tcet_add_script_test(jobs_workstation integration 120)
tcet_add_script_test(jobs_hosts integration 120)
# One private SLURM at a time from this build tree (they would compete for the
# two cores); concurrent clusters from other trees are kept apart by
# slurm_lib.sh (random ports and job ids, private TmpFS).
set_tests_properties(slurm.slurm_jobscript PROPERTIES RESOURCE_LOCK tcet_slurm)
if(EXISTS ${CMAKE_CURRENT_SOURCE_DIR}/integration/slurm_resume.sh)
  set_tests_properties(slurm.slurm_resume PROPERTIES RESOURCE_LOCK tcet_slurm)
endif()
# The multi-node template on the one-node SLURM (multi-node code path), and
# bash -n + shellcheck of every job script.
tcet_add_script_test(slurm_multinode slurm 240)
set_tests_properties(slurm.slurm_multinode PROPERTIES RESOURCE_LOCK tcet_slurm)
