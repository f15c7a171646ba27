# pam_rstream/: pam_rstream.so. Issue 5.
