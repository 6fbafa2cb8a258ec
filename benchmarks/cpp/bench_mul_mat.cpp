// Matrix-product kernels of the patched engine's ggml on this CPU, at the shapes of Stable
// Diffusion 1.x's U-Net: for each weight type and layout, GFLOP/s of ggml_mul_mat(weight, f32
// activations) on the CPU backend, and the relative RMS difference of its output from the f32
// product's. Run by benchmarks/kernels.py, which turns the figures into ratios.
//
//   bench_mul_mat [--seconds S] [--threads N] [--quick]
//
// Prints one JSON object per line: {"m", "k", "n", "what", "variant", "type", "repacked",
// "gflops", "ms", "repeats", "rel_rms_vs_f32"}. Weights are in ggml's plain CPU buffer, or in its
// CPU_REPACK buffer ("repacked": whether ggml gave them a repacked layout; where this CPU has no
// repacked kernel for the type the row has "error" instead of figures); activations are f32.

#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "ggml_extend.hpp"  // the engine's helpers (patch 0006: ggml_ext_cpu_repack_buffer_type)

namespace {

    double now() {
        return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
    }

    std::vector<float> random_values(size_t n, uint64_t seed) {
        std::vector<float> v(n);
        uint64_t state = seed;
        for (auto& x : v) {
            uint64_t z = (state += 0x9E3779B97F4A7C15ull);
            z          = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
            z          = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
            z ^= z >> 31;
            x = (float)((z >> 40) * (1.0 / 16777216.0)) - 0.5f;
        }
        return v;
    }

    struct Shape {
        int64_t m, k, n;
        const char* what;
    };

    struct Variant {
        const char* name;
        ggml_type type;
        bool repack;
    };

    struct Measured {
        bool ok          = false;
        bool repacked    = false;
        bool unsupported = false;  // a repacked layout was asked for and this CPU has none
        double ms     = 0.0;
        int repeats   = 0;
        std::vector<float> out;
    };

    Measured measure(ggml_backend_t backend, const Variant& v, const Shape& s, const std::vector<float>& w, const std::vector<float>& x,
                     double seconds) {
        Measured r;
        ggml_backend_buffer_type_t buft = v.repack ? ggml_ext_cpu_repack_buffer_type(ggml_backend_dev_by_type(GGML_BACKEND_DEVICE_TYPE_CPU))
                                                   : ggml_backend_cpu_buffer_type();
        if (buft == nullptr) {
            return r;
        }
        ggml_init_params params = {8 * ggml_tensor_overhead() + ggml_graph_overhead(), nullptr, true};
        ggml_context* ctx_w     = ggml_init(params);
        ggml_context* ctx_x     = ggml_init(params);
        ggml_tensor* wt         = ggml_new_tensor_2d(ctx_w, v.type, s.k, s.m);
        ggml_tensor* xt         = ggml_new_tensor_2d(ctx_x, GGML_TYPE_F32, s.k, s.n);
        ggml_tensor* yt         = ggml_mul_mat(ctx_x, wt, xt);
        ggml_backend_buffer_t wb = ggml_backend_alloc_ctx_tensors_from_buft(ctx_w, buft);
        ggml_backend_buffer_t xb = ggml_backend_alloc_ctx_tensors_from_buft(ctx_x, ggml_backend_cpu_buffer_type());
        // CPU_REPACK gives a tensor its layout when the tensor is placed (tensor->extra); one this CPU
        // has no kernel for gets none, and uploading to it would crash ggml: not measured then
        r.repacked = wb != nullptr && wt->extra != nullptr;
        if (v.repack && !r.repacked) {
            r.unsupported = true;
        } else if (wb != nullptr && xb != nullptr) {
            std::vector<uint8_t> bytes(ggml_nbytes(wt));
            if (v.type == GGML_TYPE_F32) {
                memcpy(bytes.data(), w.data(), bytes.size());
            } else if (v.type == GGML_TYPE_F16) {
                ggml_fp32_to_fp16_row(w.data(), (ggml_fp16_t*)bytes.data(), (int64_t)w.size());
            } else if (v.type == GGML_TYPE_BF16) {
                ggml_fp32_to_bf16_row(w.data(), (ggml_bf16_t*)bytes.data(), (int64_t)w.size());
            } else {
                ggml_quantize_chunk(v.type, w.data(), bytes.data(), 0, s.m, s.k, nullptr);
            }
            ggml_backend_tensor_set(wt, bytes.data(), 0, bytes.size());
            ggml_backend_tensor_set(xt, x.data(), 0, x.size() * sizeof(float));
            ggml_cgraph* gf = ggml_new_graph(ctx_x);
            ggml_build_forward_expand(gf, yt);
            if (ggml_backend_graph_compute(backend, gf) == GGML_STATUS_SUCCESS) {  // warm-up
                double start = now(), elapsed = 0.0;
                do {
                    ggml_backend_graph_compute(backend, gf);
                    r.repeats++;
                    elapsed = now() - start;
                } while (elapsed < seconds);
                r.ms = elapsed / r.repeats * 1e3;
                r.out.resize((size_t)(s.m * s.n));
                ggml_backend_tensor_get(yt, r.out.data(), 0, r.out.size() * sizeof(float));
                r.ok = true;
            }
        }
        ggml_backend_buffer_free(wb);
        ggml_backend_buffer_free(xb);
        ggml_free(ctx_w);
        ggml_free(ctx_x);
        return r;
    }

    double relative_rms(const std::vector<float>& a, const std::vector<float>& ref) {
        double se = 0.0, ss = 0.0;
        for (size_t i = 0; i < ref.size(); i++) {
            double d = (double)a[i] - ref[i];
            se += d * d;
            ss += (double)ref[i] * ref[i];
        }
        return std::sqrt(se / std::max(ss, 1e-30));
    }

}  // namespace

int main(int argc, char** argv) {
    double seconds = 1.0;
    int threads    = 2;
    bool quick     = false;
    for (int i = 1; i < argc; i++) {
        std::string a = argv[i];
        if (a == "--seconds" && i + 1 < argc) {
            seconds = atof(argv[++i]);
        } else if (a == "--threads" && i + 1 < argc) {
            threads = atoi(argv[++i]);
        } else if (a == "--quick") {
            quick = true;
        } else {
            fprintf(stderr, "usage: %s [--seconds S] [--threads N] [--quick]\n", argv[0]);
            return 2;
        }
    }
    ggml_log_set([](ggml_log_level, const char*, void*) {}, nullptr);  // no "repack tensor" lines
    ggml_backend_t backend = ggml_backend_cpu_init();
    ggml_backend_cpu_set_n_threads(backend, threads);

    // SD1.x U-Net at 256x256 (a 32x32 latent): 3x3 convs as im2col products (k = IC * 9), a
    // attention projection and a feed-forward layer; --quick: one small shape (for the tests)
    std::vector<Shape> shapes = {
        {320, 2880, 1024, "conv 3x3 320->320, 32x32"},
        {640, 5760, 256, "conv 3x3 640->640, 16x16"},
        {1280, 11520, 64, "conv 3x3 1280->1280, 8x8"},
        {320, 320, 1024, "attention projection 320, 1024 tokens"},
        {2560, 320, 1024, "feed-forward 320->2560 (GEGLU), 1024 tokens"},
    };
    if (quick) {
        shapes = {{64, 320, 45, "small"}};
    }
    const Variant variants[] = {
        {"f32", GGML_TYPE_F32, false},   {"f16", GGML_TYPE_F16, false},          {"bf16", GGML_TYPE_BF16, false},
        {"q8_0", GGML_TYPE_Q8_0, false}, {"q8_0 repack", GGML_TYPE_Q8_0, true}, {"q4_0", GGML_TYPE_Q4_0, false},
        {"q4_0 repack", GGML_TYPE_Q4_0, true},
    };
    uint64_t seed = 1;
    for (const Shape& s : shapes) {
        std::vector<float> w = random_values((size_t)(s.m * s.k), seed++);
        std::vector<float> x = random_values((size_t)(s.n * s.k), seed++);
        std::vector<float> f32_out;
        for (const Variant& v : variants) {
            Measured r = measure(backend, v, s, w, x, seconds);
            if (!r.ok) {
                printf("{\"m\": %lld, \"k\": %lld, \"n\": %lld, \"what\": \"%s\", \"variant\": \"%s\", \"type\": \"%s\", "
                       "\"repacked\": false, \"error\": \"%s\"}\n",
                       (long long)s.m, (long long)s.k, (long long)s.n, s.what, v.name, ggml_type_name(v.type),
                       r.unsupported ? "no repacked layout for this type on this CPU" : "failed");
                continue;
            }
            if (v.type == GGML_TYPE_F32) {
                f32_out = r.out;
            }
            double gflops = 2.0 * s.m * s.k * s.n / (r.ms * 1e-3) / 1e9;
            printf("{\"m\": %lld, \"k\": %lld, \"n\": %lld, \"what\": \"%s\", \"variant\": \"%s\", \"type\": \"%s\", \"repacked\": %s, "
                   "\"gflops\": %.2f, \"ms\": %.4f, \"repeats\": %d, \"rel_rms_vs_f32\": %.3e}\n",
                   (long long)s.m, (long long)s.k, (long long)s.n, s.what, v.name, ggml_type_name(v.type), r.repacked ? "true" : "false",
                   gflops, r.ms, r.repeats, f32_out.empty() ? -1.0 : relative_rms(r.out, f32_out));
            fflush(stdout);
        }
    }
    ggml_backend_free(backend);
    return 0;
}
