# Developer loop. The build dir (build/<wheel tag>) persists, so re-installs are incremental.
PY ?= python3

.PHONY: install test check-vendor check-patches bench demo
install:            ## build the patched engine + extension; editable install (Python edits are live)
	flock /tmp/sdcpp-build.lock $(PY) -m pip install --no-build-isolation -Ccmake.define.SDCPP_BUILD_TESTS=ON -e ".[test]"
test:               ## the README's test command
	$(PY) -m pytest -q tests
check-vendor:       ## vendor/ is byte-identical to the pinned sdist
	$(PY) scripts/vendor_engine.py --check
check-patches:      ## the patch series applies to a fresh copy of vendor/
	$(PY) scripts/check_patches.py
demo:
	sdcpp-cli demo
