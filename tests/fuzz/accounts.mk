# Fuzz target(s) for issue 5 (accounts): replay test in check_PROGRAMS/TESTS,
# libFuzzer binary appended to FUZZ_PROGS inside `if ENABLE_FUZZING`.
