# Unit tests for issue 5 (pam); included inside if HAVE_CHECK.
