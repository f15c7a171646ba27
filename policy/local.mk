# policy/: the caller-to-user policy engine (policy.yaml) and the accounts
# database (accounts.db) writer and reader. Filled in by issue 5.
include policy/accounts.mk
