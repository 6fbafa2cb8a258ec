// Quantized Conv2d tests for the patched stable-diffusion.cpp (patches/0003-quantized-conv2d.patch).
//
// A conv kernel [OC, IC, KH, KW] stored flat as [OC, IC * KH * KW] (ggml ne [KW*KH*IC, OC]) and
// quantized by rows runs as im2col + ggml_mul_mat. This binary checks, on the CPU backend:
//   - Conv2d::init_params makes a 2D param of the file's type for a flat kernel, the old 4D F16
//     param for a 4D kernel or a missing tensor, and a 4D param (so the loader's shape check
//     refuses the file) for a 2D tensor of the wrong shape; a flat kernel of a type ggml_mul_mat
//     cannot take (i32) becomes F16;
//   - on random data, Conv2d::forward with a flat q8_0 / q4_0 / q4_K / q5_K / f16 kernel matches a
//     double-precision reference convolution with the dequantized kernel (to_float), for 3x3, 1x1,
//     strided, dilated, non-square, circular-padded and smaller-than-kernel inputs, with bias and
//     with a Conv2d scale;
//   - the old 4D F16 path still matches the same reference.
// Prints one PASS/FAIL line per case; the exit status is the number of failures (capped).

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "ggml_extend.hpp"
#include "test_report.hpp"

namespace {

    using test_report::report;

    struct SplitMix64 {
        uint64_t state;
        explicit SplitMix64(uint64_t seed)
            : state(seed) {}
        uint64_t next() {
            uint64_t z = (state += 0x9E3779B97F4A7C15ull);
            z          = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
            z          = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
            return z ^ (z >> 31);
        }
        // uniform with mean 0 and variance 1
        float unit() {
            float u = static_cast<float>((next() >> 40) * (1.0 / 16777216.0));
            return (2.0f * u - 1.0f) * 1.7320508f;
        }
    };

    std::vector<float> random_values(int64_t n, uint64_t seed, float scale) {
        std::vector<float> v(n);
        SplitMix64 rng(seed);
        for (auto& x : v) {
            x = rng.unit() * scale;
        }
        return v;
    }

    struct ConvCase {
        std::string name;
        int64_t n, ic, oc, h, w;
        int kh, kw;
        int sh, sw, ph, pw, dh, dw;
        bool circular = false;
        float scale   = 1.f;
    };

    int64_t out_size(int64_t in, int k, int s, int p, int d) {
        return (in + 2 * p - d * (k - 1) - 1) / s + 1;
    }

    // x: [N, IC, H, W], kernel: [OC, IC, KH, KW] (row-major, PyTorch order), result [N, OC, OH, OW]
    std::vector<double> reference_conv(const ConvCase& c,
                                       const std::vector<float>& x,
                                       const std::vector<float>& kernel,
                                       const std::vector<float>& bias) {
        const int64_t oh = out_size(c.h, c.kh, c.sh, c.ph, c.dh);
        const int64_t ow = out_size(c.w, c.kw, c.sw, c.pw, c.dw);
        std::vector<double> out(c.n * c.oc * oh * ow, 0.0);
        for (int64_t n = 0; n < c.n; n++) {
            for (int64_t o = 0; o < c.oc; o++) {
                for (int64_t y = 0; y < oh; y++) {
                    for (int64_t xo = 0; xo < ow; xo++) {
                        double acc = bias[o];
                        for (int64_t i = 0; i < c.ic; i++) {
                            for (int ky = 0; ky < c.kh; ky++) {
                                for (int kx = 0; kx < c.kw; kx++) {
                                    int64_t iy = y * c.sh - c.ph + ky * c.dh;
                                    int64_t ix = xo * c.sw - c.pw + kx * c.dw;
                                    if (c.circular) {
                                        ix = ((ix % c.w) + c.w) % c.w;
                                    }
                                    if (iy < 0 || iy >= c.h || ix < 0 || ix >= c.w) {
                                        continue;
                                    }
                                    acc += (double)kernel[((o * c.ic + i) * c.kh + ky) * c.kw + kx] *
                                           (double)x[((n * c.ic + i) * c.h + iy) * c.w + ix];
                                }
                            }
                        }
                        out[((n * c.oc + o) * oh + y) * ow + xo] = acc;
                    }
                }
            }
        }
        return out;
    }

    TensorStorage storage(const std::string& name, ggml_type type, std::vector<int64_t> ne) {
        return TensorStorage(name, type, ne.data(), (int)ne.size(), 0);
    }

    ggml_context* new_ctx(size_t mem) {
        ggml_init_params params = {mem, nullptr, false};
        return ggml_init(params);
    }

    // --- Conv2d::init_params: which param the block makes -------------------------------------

    void test_init_params() {
        const int64_t ic = 64, oc = 48;
        const int64_t k  = ic * 3 * 3;
        struct Expect {
            std::string name;
            bool in_file;
            TensorStorage ts;
            int n_dims;
            ggml_type type;
        };
        std::vector<Expect> cases = {
            {"flat q8_0 kernel -> 2D q8_0 param", true, storage("c.weight", GGML_TYPE_Q8_0, {k, oc}), 2, GGML_TYPE_Q8_0},
            {"flat q4_0 kernel -> 2D q4_0 param", true, storage("c.weight", GGML_TYPE_Q4_0, {k, oc}), 2, GGML_TYPE_Q4_0},
            {"flat f16 kernel -> 2D f16 param", true, storage("c.weight", GGML_TYPE_F16, {k, oc}), 2, GGML_TYPE_F16},
            {"flat i32 kernel -> 2D f16 param", true, storage("c.weight", GGML_TYPE_I32, {k, oc}), 2, GGML_TYPE_F16},
            {"4D f16 kernel -> 4D f16 param (as before)", true, storage("c.weight", GGML_TYPE_F16, {3, 3, ic, oc}), 4, GGML_TYPE_F16},
            {"4D f32 kernel -> 4D f16 param (as before)", true, storage("c.weight", GGML_TYPE_F32, {3, 3, ic, oc}), 4, GGML_TYPE_F16},
            {"2D kernel of the wrong width -> 4D param (loader refuses)", true, storage("c.weight", GGML_TYPE_Q8_0, {k - 32, oc}), 4, GGML_TYPE_F16},
            {"2D kernel with the wrong OC -> 4D param (loader refuses)", true, storage("c.weight", GGML_TYPE_Q8_0, {k, oc + 1}), 4, GGML_TYPE_F16},
            {"no tensor in the file -> 4D f16 param", false, TensorStorage(), 4, GGML_TYPE_F16},
        };
        for (auto& e : cases) {
            String2TensorStorage map;
            if (e.in_file) {
                map["c.weight"] = e.ts;
            }
            ggml_init_params params = {ggml_tensor_overhead() * 8, nullptr, true};
            ggml_context* ctx       = ggml_init(params);
            Conv2d conv(ic, oc, {3, 3}, {1, 1}, {1, 1});
            conv.init(ctx, map, "c");
            std::map<std::string, ggml_tensor*> tensors;
            conv.get_param_tensors(tensors, "c");
            ggml_tensor* w = tensors["c.weight"];
            bool ok        = w != nullptr && ggml_n_dims(w) == e.n_dims && w->type == e.type;
            if (ok && e.n_dims == 2) {
                ok = w->ne[0] == k && w->ne[1] == oc;
            }
            if (ok && e.n_dims == 4) {
                ok = w->ne[0] == 3 && w->ne[1] == 3 && w->ne[2] == ic && w->ne[3] == oc;
            }
            char detail[160];
            snprintf(detail, sizeof(detail), "got %s [%lld, %lld, %lld, %lld]",
                     w ? ggml_type_name(w->type) : "null",
                     w ? (long long)w->ne[0] : 0LL, w ? (long long)w->ne[1] : 0LL,
                     w ? (long long)w->ne[2] : 0LL, w ? (long long)w->ne[3] : 0LL);
            report(ok, "init_params: " + e.name, ok ? "" : detail);
            ggml_free(ctx);
        }
    }

    // --- Conv2d::forward on random data against a reference -----------------------------------

    // Runs Conv2d (file type `type`; flat for every type unless `four_d`) and returns the relative
    // RMS error against the reference conv with the kernel the param really holds (dequantized).
    double run_case(const ConvCase& c, ggml_type type, bool four_d, uint64_t seed) {
        const int64_t k = c.ic * c.kh * c.kw;
        std::vector<float> x      = random_values(c.n * c.ic * c.h * c.w, seed, 1.0f);
        std::vector<float> kernel = random_values(c.oc * k, seed + 1, 1.0f / std::sqrt((float)k));
        std::vector<float> bias   = random_values(c.oc, seed + 2, 0.1f);

        String2TensorStorage map;
        if (four_d) {
            map["c.weight"] = storage("c.weight", GGML_TYPE_F16, {c.kw, c.kh, c.ic, c.oc});
        } else {
            map["c.weight"] = storage("c.weight", type, {k, c.oc});
        }
        map["c.bias"] = storage("c.bias", GGML_TYPE_F32, {c.oc});

        size_t mem        = (size_t)(c.oc * k * 4 + c.oc * 4) * 2 + 16 * ggml_tensor_overhead() + (1 << 16);
        ggml_context* pctx = new_ctx(mem);
        Conv2d conv(c.ic, c.oc, {c.kh, c.kw}, {c.sh, c.sw}, {c.ph, c.pw}, {c.dh, c.dw});
        if (c.scale != 1.f) {
            conv.set_scale(c.scale);
        }
        conv.init(pctx, map, "c");
        std::map<std::string, ggml_tensor*> tensors;
        conv.get_param_tensors(tensors, "c");
        ggml_tensor* w = tensors["c.weight"];
        ggml_tensor* b = tensors["c.bias"];

        // fill the param: the same bytes as the 4D kernel, in the param's type
        std::vector<float> dequantized(c.oc * k);
        if (w->type == GGML_TYPE_F16) {
            ggml_fp32_to_fp16_row(kernel.data(), (ggml_fp16_t*)w->data, c.oc * k);
        } else {
            ggml_quantize_chunk(w->type, kernel.data(), w->data, 0, c.oc, k, nullptr);
        }
        ggml_get_type_traits(w->type)->to_float(w->data, dequantized.data(), c.oc * k);
        memcpy(b->data, bias.data(), bias.size() * sizeof(float));

        const int64_t oh = out_size(c.h, c.kh, c.sh, c.ph, c.dh);
        const int64_t ow = out_size(c.w, c.kw, c.sw, c.pw, c.dw);
        size_t cmem      = (size_t)(c.n * oh * ow * k * 4) * 3 + (size_t)(c.n * c.oc * oh * ow * 4) * 6 +
                      (size_t)(c.n * c.ic * (c.h + 2 * c.ph) * (c.w + 2 * c.pw) * 4) * 4 +
                      64 * ggml_tensor_overhead() + ggml_graph_overhead() + (1 << 20);
        ggml_context* cctx = new_ctx(cmem);
        ggml_tensor* xt    = ggml_new_tensor_4d(cctx, GGML_TYPE_F32, c.w, c.h, c.ic, c.n);
        memcpy(xt->data, x.data(), x.size() * sizeof(float));

        GGMLRunnerContext runner_ctx;
        runner_ctx.ggml_ctx           = cctx;
        runner_ctx.circular_x_enabled = c.circular;
        ggml_tensor* out              = conv.forward(&runner_ctx, xt);
        ggml_cgraph* gf               = ggml_new_graph(cctx);
        ggml_build_forward_expand(gf, out);
        ggml_graph_compute_with_ctx(cctx, gf, 2);

        double err = -1.0;
        if (out->ne[0] == ow && out->ne[1] == oh && out->ne[2] == c.oc && out->ne[3] == c.n) {
            std::vector<double> ref = reference_conv(c, x, dequantized, bias);
            double se = 0.0, ss = 0.0;
            const float* got = (const float*)out->data;
            for (size_t i = 0; i < ref.size(); i++) {
                double d = (double)got[i] - ref[i];
                se += d * d;
                ss += ref[i] * ref[i];
            }
            err = std::sqrt(se / std::max(ss, 1e-30));
        }
        ggml_free(cctx);
        ggml_free(pctx);
        return err;
    }

    void test_forward() {
        // name, N, IC, OC, H, W, KH, KW, stride h/w, pad h/w, dilation h/w
        std::vector<ConvCase> cases = {
            {"3x3 pad 1", 2, 64, 40, 9, 7, 3, 3, 1, 1, 1, 1, 1, 1},
            {"1x1", 2, 64, 24, 5, 6, 1, 1, 1, 1, 0, 0, 1, 1},
            {"3x3 stride 2 (downsample)", 1, 32, 16, 8, 8, 3, 3, 2, 2, 1, 1, 1, 1},
            {"3x3 on a 2x2 input", 1, 32, 16, 2, 2, 3, 3, 1, 1, 1, 1, 1, 1},
            {"3x3 dilation 2", 1, 32, 8, 9, 9, 3, 3, 1, 1, 2, 2, 2, 2},
            {"3x1 non-square kernel", 1, 32, 8, 6, 5, 3, 1, 1, 1, 1, 0, 1, 1},
            {"3x3 circular x padding", 1, 32, 8, 6, 6, 3, 3, 1, 1, 1, 1, 1, 1, true},
            {"3x3 with Conv2d scale 1/8", 1, 64, 16, 5, 5, 3, 3, 1, 1, 1, 1, 1, 1, false, 0.125f},
        };
        ConvCase k_quant = {"3x3, IC*KH*KW = 2304", 1, 256, 16, 5, 4, 3, 3, 1, 1, 1, 1, 1, 1};
        // The mul_mat converts im2col's F32 columns to the weight's vec_dot type (q8_0 / q8_K for
        // quantized weights, f16 for f16), so the result carries that rounding: ~0.3% for q8
        // activations, ~0.05% for f16; 2% is far below what a wrong layout gives (~140%).
        const double tol_quant = 2e-2, tol_f16 = 3e-3;
        uint64_t seed          = 1234;
        for (const auto& c : cases) {
            for (ggml_type t : {GGML_TYPE_Q8_0, GGML_TYPE_Q4_0, GGML_TYPE_F16}) {
                double err = run_case(c, t, false, seed++);
                double tol = t == GGML_TYPE_F16 ? tol_f16 : tol_quant;
                char detail[96];
                snprintf(detail, sizeof(detail), "relative RMS error %.2e (limit %.0e)", err, tol);
                report(err >= 0 && err < tol, std::string("forward flat ") + ggml_type_name(t) + ": " + c.name, detail);
            }
            double err = run_case(c, GGML_TYPE_F16, true, seed++);
            char detail[96];
            snprintf(detail, sizeof(detail), "relative RMS error %.2e (limit %.0e)", err, tol_f16);
            report(err >= 0 && err < tol_f16, "forward 4D f16 (unchanged path): " + c.name, detail);
        }
        for (ggml_type t : {GGML_TYPE_Q4_K, GGML_TYPE_Q5_K, GGML_TYPE_Q8_0}) {
            double err = run_case(k_quant, t, false, seed++);
            char detail[96];
            snprintf(detail, sizeof(detail), "relative RMS error %.2e (limit %.0e)", err, tol_quant);
            report(err >= 0 && err < tol_quant, std::string("forward flat ") + ggml_type_name(t) + ": " + k_quant.name, detail);
        }
    }

}  // namespace

int main() {
    test_init_params();
    test_forward();
    return test_report::finish();
}
