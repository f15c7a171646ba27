# Unit tests for issue 5 (login); included inside if HAVE_CHECK.
