# Unit tests for issue 5 (accounts); included inside if HAVE_CHECK.
