# Unit tests for issue 5 (policy); included inside if HAVE_CHECK.
