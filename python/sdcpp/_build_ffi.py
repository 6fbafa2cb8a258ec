"""Emit the C source of the cffi extension ``sdcpp._sdcpp`` (run by CMake at build time).

API mode: the generated C file includes the engine's real header, so the compiler checks every
declaration of ``_cdef.h`` against it. CMake compiles the result and links it statically to the
patched engine.

Usage: python _build_ffi.py OUTPUT.c
"""
from __future__ import annotations

import sys
from pathlib import Path

import cffi

HERE = Path(__file__).resolve().parent

# Build information, filled in by CMake's compile definitions.
SOURCE_PRELUDE = r"""
#include "stable-diffusion.h"
#include <stdlib.h>

#ifndef SDCPP_PATCH_SERIES_HASH
#error "SDCPP_PATCH_SERIES_HASH must be defined by the build"
#endif
static const char* sdcpp_patch_series_hash(void) { return SDCPP_PATCH_SERIES_HASH; }
static const char* sdcpp_package_version(void) { return SDCPP_PACKAGE_VERSION; }
static const char* sdcpp_backend(void) { return SDCPP_BACKEND; }

#include "ggml-backend.h"
#include "ggml-cpu.h"
#include <stdio.h>
#include <string.h>
/* The CPU backend's compiled-in features ("AVX2 FMA LLAMAFILE OPENMP ..."), as ggml reports them. */
static const char* sdcpp_cpu_features(void) {
    static char buffer[1024];
    size_t used = 0;
    buffer[0] = '\0';
    ggml_backend_reg_t reg = ggml_backend_cpu_reg();
    ggml_backend_get_features_t get_features =
        (ggml_backend_get_features_t)ggml_backend_reg_get_proc_address(reg, "ggml_backend_get_features");
    if (get_features == NULL) {
        return buffer;
    }
    for (struct ggml_backend_feature* f = get_features(reg); f->name != NULL; f++) {
        int n = strcmp(f->value, "1") == 0
                    ? snprintf(buffer + used, sizeof(buffer) - used, "%s%s", used ? " " : "", f->name)
                    : snprintf(buffer + used, sizeof(buffer) - used, "%s%s=%s", used ? " " : "", f->name, f->value);
        if (n < 0 || (size_t)n >= sizeof(buffer) - used) {
            break;
        }
        used += (size_t)n;
    }
    return buffer;
}
"""


def build_ffi() -> cffi.FFI:
    ffi = cffi.FFI()
    ffi.cdef((HERE / "_cdef.h").read_text())
    ffi.set_source("sdcpp._sdcpp", SOURCE_PRELUDE)
    return ffi


def main() -> int:
    if len(sys.argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    output = Path(sys.argv[1])
    build_ffi().emit_c_code(str(output))
    return 0


if __name__ == "__main__":
    sys.exit(main())
