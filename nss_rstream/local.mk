# nss_rstream/: libnss_rstream.so.2 (passwd/group from accounts.db). Issue 5.
