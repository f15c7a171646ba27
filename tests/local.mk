# tests/: unit tests (Check), integration tests (real daemon and client),
# fuzz targets. Each area keeps its own fragment.
include tests/unit/local.mk
include tests/integration/local.mk
include tests/fuzz/local.mk
