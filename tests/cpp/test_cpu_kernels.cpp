// CPU kernel tests for the patched stable-diffusion.cpp:
//   - patches/0005-llamafile-sgemm-avx512-k8.patch: ggml_mul_mat with an inner dimension that is a
//     multiple of 8 but not of 16 (SD1.x attention heads of 40) matches a double-precision
//     reference, for f32 x f32 (attention's Q*K^T) and f16 weights; k % 16 == 0 is checked too;
//   - patches/0006-cpu-weight-repack.patch: a GGMLRunner with weight repacking on keeps a q4_0
//     Linear and a flat q4_0 Conv2d in the CPU_REPACK buffer (where this CPU has a repacked kernel,
//     i.e. AVX2 or AVX-512 on x86), keeps q8_0 / f16 weights and the biases in the plain buffer, and
//     its outputs match the reference with the dequantized weights and the runner with repacking off;
//     with repacking off nothing is repacked; with patch 0008 q8_0 is repacked too on AVX512-VNNI CPUs;
//   - patches/0008-cpu-repack-avx512-vnni-q8_0-q4_0.patch: ggml_mul_mat with q8_0 / q4_0 weights in
//     ggml's CPU_REPACK buffer (the 16x4 AVX512-VNNI kernels where the CPU has them) matches the same
//     product with the weights in the plain buffer and a double-precision reference, for row counts
//     that take every path of the kernel (8-row and 4-row tiles, the gemv rows after them, planes).
//   - patches/0009-im2col-stride1-rows.patch: ggml_im2col into f32 and f16 equals the definition
//     (bit for bit) for the stride-1 fast path (3x3 with and without padding, narrow images, row
//     stride and dilation, 1x1, 2x2, 4x4) and for the generic path it leaves to stride 2 and 5x5.
//   - patches/0010-cpu-vec-max-softmax-simd.patch: ggml_soft_max rows of every length around the
//     vector widths (and rows with -inf entries) match a double-precision reference.
//   - patches/0011-cpu-flash-attn-tiled-any-head-size.patch and 0012-flash-attn-cpu-f32-kv.patch:
//     the engine's attention (ggml_ext_attention_ext) with flash attention on the CPU backend keeps
//     K and V in f32 (no f16 tensor, no padding of the keys in the graph) and matches a
//     double-precision reference for SD1.x's head sizes (40, 80, 160) and others that are not whole
//     vectors, query counts on both sides of the tiled kernel's 64-row tile, 77 text tokens, and
//     key counts with a partial last tile; ggml_flash_attn_ext with f16 K/V and a causal mask too.
//   - patches/0013-cpu-im2col-tiles.patch: the im2col cases above include rows wider than one
//     tile of 16 positions (full and partial tiles, a thread split inside an output row);
//     patches/0014-cpu-im2col-quantized-dst.patch: ggml_im2col into Q8_0 equals the f32 im2col
//     quantized row by row with the CPU's own Q8_0 quantizer (bit for bit), for the stride-1 path
//     and the generic one; patches/0015-cpu-repack-q8_0-activations.patch: a repacked Q8_0 / Q4_0
//     weight takes Q8_0 activations (the CPU backend supports the op) and gives what the plain
//     layout gives for them and what f32 activations give; patches/0016-conv2d-flat-cols-vec-dot-
//     type.patch: the runner's flat conv writes its columns in Q8_0 (q4_0/q8_0 kernels) or F16
//     (f16 kernels) on the CPU backend, and ggml_ext_conv_2d_flat_cols_type's table agrees with
//     the types the CPU backend's mul_mat takes (F32 for other kernels and without a backend).
//   - patches/0017-cpu-dup-permuted-tiles.patch: ggml_cont of every permutation of a 4D f32 / f16
//     tensor (sizes that leave partial 16 x 16 tiles), of a transposed 2D view and of the conv's
//     [OC, W*H] -> [W, H, OC] layout change equals the definition, element for element.
// Prints one PASS/FAIL line per case; the exit status is the number of failures (capped).

#include <algorithm>
#include <array>
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

    std::vector<float> random_values(int64_t n, uint64_t seed, float scale) {
        std::vector<float> v(n);
        uint64_t state = seed;
        for (auto& x : v) {
            uint64_t z = (state += 0x9E3779B97F4A7C15ull);
            z          = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
            z          = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
            z ^= z >> 31;
            float u = static_cast<float>((z >> 40) * (1.0 / 16777216.0));
            x       = (2.0f * u - 1.0f) * 1.7320508f * scale;  // mean 0, variance scale^2
        }
        return v;
    }

    double relative_rms(const float* got, const std::vector<double>& ref) {
        double se = 0.0, ss = 0.0;
        for (size_t i = 0; i < ref.size(); i++) {
            double d = (double)got[i] - ref[i];
            se += d * d;
            ss += ref[i] * ref[i];
        }
        return std::sqrt(se / std::max(ss, 1e-30));
    }

    // c[p][j][i] = sum_l a[p][i][l] * b[p][j][l] in double, for batch planes of a [m rows of k] (a_plane
    // values apart; 0: one a for every plane) and b [n rows of k]: ggml_mul_mat(a, b)'s definition
    std::vector<double> reference_product(const float* a, int64_t a_plane, const float* b, int64_t m, int64_t n, int64_t k,
                                          int64_t batch) {
        std::vector<double> c(m * n * batch);
        for (int64_t p = 0; p < batch; p++) {
            for (int64_t j = 0; j < n; j++) {
                for (int64_t i = 0; i < m; i++) {
                    double acc = 0.0;
                    for (int64_t l = 0; l < k; l++) {
                        acc += (double)a[p * a_plane + i * k + l] * (double)b[(p * n + j) * k + l];
                    }
                    c[(p * n + j) * m + i] = acc;
                }
            }
        }
        return c;
    }

    // --- 0005: llamafile sgemm with k % 16 != 0 -----------------------------------------------

    // a: [m rows of k], b: [n rows of k] -> c[j][i] = sum_l a[i][l] * b[j][l]  (ggml_mul_mat(a, b))
    double mul_mat_error(ggml_type a_type, int64_t m, int64_t n, int64_t k, int64_t batch, uint64_t seed) {
        std::vector<float> a = random_values(m * k * batch, seed, 1.0f);
        std::vector<float> b = random_values(n * k * batch, seed + 1, 1.0f);
        size_t mem           = (size_t)(m * k + n * k * 2 + m * n) * batch * 4 + 16 * ggml_tensor_overhead() + ggml_graph_overhead() + (1 << 20);
        ggml_init_params params = {mem, nullptr, false};
        ggml_context* ctx       = ggml_init(params);
        ggml_tensor* at         = ggml_new_tensor_3d(ctx, a_type, k, m, batch);
        ggml_tensor* bt         = ggml_new_tensor_3d(ctx, GGML_TYPE_F32, k, n, batch);
        std::vector<float> a_used(a);
        if (a_type == GGML_TYPE_F16) {
            ggml_fp32_to_fp16_row(a.data(), (ggml_fp16_t*)at->data, m * k * batch);
            ggml_fp16_to_fp32_row((const ggml_fp16_t*)at->data, a_used.data(), m * k * batch);
        } else {
            memcpy(at->data, a.data(), a.size() * sizeof(float));
        }
        memcpy(bt->data, b.data(), b.size() * sizeof(float));
        ggml_tensor* ct = ggml_mul_mat(ctx, at, bt);
        ggml_mul_mat_set_prec(ct, GGML_PREC_F32);
        ggml_cgraph* gf = ggml_new_graph(ctx);
        ggml_build_forward_expand(gf, ct);
        ggml_graph_compute_with_ctx(ctx, gf, 2);

        std::vector<double> ref = reference_product(a_used.data(), m * k, b.data(), m, n, k, batch);
        double err               = relative_rms((const float*)ct->data, ref);
        ggml_free(ctx);
        return err;
    }

    void test_sgemm_inner_dimensions() {
        struct Case {
            const char* name;
            ggml_type type;
            int64_t m, n, k, batch;
            double tol;
        };
        // f16: B is rounded to f16 before the product (~3e-4 relative); f32 stays far below 1e-5
        std::vector<Case> cases = {
            {"f32 x f32, k = 40 (SD1.x attention head), 8 heads", GGML_TYPE_F32, 64, 48, 40, 8, 1e-5},
            {"f32 x f32, k = 72", GGML_TYPE_F32, 32, 20, 72, 2, 1e-5},
            {"f32 x f32, k = 80 (k % 16 == 0)", GGML_TYPE_F32, 64, 48, 80, 2, 1e-5},
            {"f32 x f32, k = 36 (k % 8 != 0, generic path)", GGML_TYPE_F32, 16, 12, 36, 1, 1e-5},
            {"f16 x f32, k = 40", GGML_TYPE_F16, 64, 48, 40, 1, 3e-3},
            {"f16 x f32, k = 320", GGML_TYPE_F16, 64, 48, 320, 1, 3e-3},
        };
        uint64_t seed = 77;
        for (const auto& c : cases) {
            double err = mul_mat_error(c.type, c.m, c.n, c.k, c.batch, seed += 10);
            char detail[96];
            snprintf(detail, sizeof(detail), "relative RMS error %.2e (limit %.0e)", err, c.tol);
            report(err < c.tol, std::string("mul_mat ") + c.name, detail);
        }
    }

    // --- 0006: weight repacking in GGMLRunner --------------------------------------------------

    // TOKENS = 13 and H * W = 30 rows take the repacked kernels' 8-row, 4-row and single-row paths
    constexpr int64_t IC = 64, OC = 32, K_LIN = 256, H = 6, W = 5, TOKENS = 13;

    struct TinyRunner : public GGMLRunner {
        Linear linear;
        Conv2d conv;
        bool use_conv         = false;
        ggml_type im2col_type = GGML_TYPE_COUNT;  // the type of the last graph's im2col (COUNT: none)

        TinyRunner(ggml_backend_t backend, const String2TensorStorage& map)
            : GGMLRunner(backend), linear(K_LIN, OC), conv(IC, OC, {3, 3}, {1, 1}, {1, 1}) {
            linear.init(params_ctx, map, "lin");
            conv.init(params_ctx, map, "conv");
        }

        std::string get_desc() override {
            return "tiny";
        }

        ggml_cgraph* build_graph(const sd::Tensor<float>& x) {
            ggml_cgraph* gf = ggml_new_graph(compute_ctx);
            ggml_tensor* in = make_input(x);
            auto runner_ctx = get_context();
            ggml_tensor* out = use_conv ? conv.forward(&runner_ctx, in) : linear.forward(&runner_ctx, in);
            ggml_build_forward_expand(gf, out);
            im2col_type = GGML_TYPE_COUNT;
            for (int i = 0; i < ggml_graph_n_nodes(gf); i++) {
                if (ggml_graph_node(gf, i)->op == GGML_OP_IM2COL) {
                    im2col_type = ggml_graph_node(gf, i)->type;
                }
            }
            return gf;
        }

        std::vector<float> run(const sd::Tensor<float>& x, bool conv_block) {
            use_conv       = conv_block;
            auto get_graph = [&]() -> ggml_cgraph* { return build_graph(x); };
            auto out       = GGMLRunner::compute<float>(get_graph, 2, true);
            if (!out.has_value()) {
                return {};
            }
            return std::vector<float>(out->data(), out->data() + out->numel());
        }

        std::map<std::string, ggml_tensor*> tensors() {
            std::map<std::string, ggml_tensor*> t;
            linear.get_param_tensors(t, "lin");
            conv.get_param_tensors(t, "conv");
            return t;
        }
    };

    TensorStorage storage(const std::string& name, ggml_type type, std::vector<int64_t> ne) {
        return TensorStorage(name, type, ne.data(), (int)ne.size(), 0);
    }

    // Quantizes `values` ([rows, cols]) to the tensor's type, uploads them (repacking when the tensor
    // is in CPU_REPACK) and returns what the tensor holds, dequantized.
    std::vector<float> upload(ggml_tensor* t, const std::vector<float>& values, int64_t rows, int64_t cols) {
        std::vector<uint8_t> bytes(ggml_row_size(t->type, cols) * rows);
        std::vector<float> held(values.size());
        if (t->type == GGML_TYPE_F32) {
            memcpy(bytes.data(), values.data(), bytes.size());
            held = values;
        } else if (t->type == GGML_TYPE_F16) {
            ggml_fp32_to_fp16_row(values.data(), (ggml_fp16_t*)bytes.data(), rows * cols);
            ggml_fp16_to_fp32_row((const ggml_fp16_t*)bytes.data(), held.data(), rows * cols);
        } else {
            ggml_quantize_chunk(t->type, values.data(), bytes.data(), 0, rows, cols, nullptr);
            ggml_get_type_traits(t->type)->to_float(bytes.data(), held.data(), rows * cols);
        }
        ggml_backend_tensor_set(t, bytes.data(), 0, bytes.size());
        return held;
    }

    struct RunnerOutputs {
        bool ok = false;
        bool weights_repacked[2] = {false, false};  // linear, conv
        bool biases_repacked     = false;
        double error[2]          = {-1.0, -1.0};  // vs the reference with the held weights
        std::vector<float> out[2];
        ggml_type conv_cols_type = GGML_TYPE_COUNT;  // the type the conv's im2col wrote
    };

    RunnerOutputs run_runner(ggml_backend_t backend, ggml_type type, bool repack, uint64_t seed) {
        String2TensorStorage map;
        map["lin.weight"]  = storage("lin.weight", type, {K_LIN, OC});
        map["lin.bias"]    = storage("lin.bias", GGML_TYPE_F32, {OC});
        map["conv.weight"] = storage("conv.weight", type, {IC * 9, OC});
        map["conv.bias"]   = storage("conv.bias", GGML_TYPE_F32, {OC});
        TinyRunner runner(backend, map);
        runner.set_weight_repack_enabled(repack);
        RunnerOutputs r;
        if (!runner.alloc_params_buffer()) {
            return r;
        }
        auto t                = runner.tensors();
        r.weights_repacked[0] = ggml_ext_is_repacked(t["lin.weight"]);
        r.weights_repacked[1] = ggml_ext_is_repacked(t["conv.weight"]);
        r.biases_repacked     = ggml_ext_is_repacked(t["lin.bias"]) || ggml_ext_is_repacked(t["conv.bias"]);

        std::vector<float> lin_w  = upload(t["lin.weight"], random_values(OC * K_LIN, seed, 1.0f / 16.0f), OC, K_LIN);
        std::vector<float> lin_b  = upload(t["lin.bias"], random_values(OC, seed + 1, 0.1f), 1, OC);
        std::vector<float> conv_w = upload(t["conv.weight"], random_values(OC * IC * 9, seed + 2, 1.0f / 24.0f), OC, IC * 9);
        std::vector<float> conv_b = upload(t["conv.bias"], random_values(OC, seed + 3, 0.1f), 1, OC);

        // linear: x [TOKENS, K_LIN] (ggml ne {K_LIN, TOKENS})
        std::vector<float> x_lin = random_values(TOKENS * K_LIN, seed + 4, 1.0f);
        r.out[0]                 = runner.run(sd::Tensor<float>({K_LIN, TOKENS}, x_lin), false);
        // conv: x [1, IC, H, W] (ggml ne {W, H, IC, 1})
        std::vector<float> x_conv = random_values(IC * H * W, seed + 5, 1.0f);
        r.out[1]                  = runner.run(sd::Tensor<float>({W, H, IC, 1}, x_conv), true);
        r.conv_cols_type          = runner.im2col_type;
        if (r.out[0].size() != (size_t)(OC * TOKENS) || r.out[1].size() != (size_t)(OC * H * W)) {
            return r;
        }

        std::vector<double> ref_lin(OC * TOKENS);
        for (int64_t j = 0; j < TOKENS; j++) {
            for (int64_t o = 0; o < OC; o++) {
                double acc = lin_b[o];
                for (int64_t l = 0; l < K_LIN; l++) {
                    acc += (double)lin_w[o * K_LIN + l] * x_lin[j * K_LIN + l];
                }
                ref_lin[j * OC + o] = acc;
            }
        }
        std::vector<double> ref_conv(OC * H * W);
        for (int64_t o = 0; o < OC; o++) {
            for (int64_t y = 0; y < H; y++) {
                for (int64_t xo = 0; xo < W; xo++) {
                    double acc = conv_b[o];
                    for (int64_t i = 0; i < IC; i++) {
                        for (int ky = 0; ky < 3; ky++) {
                            for (int kx = 0; kx < 3; kx++) {
                                int64_t iy = y - 1 + ky, ix = xo - 1 + kx;
                                if (iy < 0 || iy >= H || ix < 0 || ix >= W) {
                                    continue;
                                }
                                acc += (double)conv_w[((o * IC + i) * 3 + ky) * 3 + kx] * x_conv[(i * H + iy) * W + ix];
                            }
                        }
                    }
                    ref_conv[(o * H + y) * W + xo] = acc;
                }
            }
        }
        r.error[0] = relative_rms(r.out[0].data(), ref_lin);
        r.error[1] = relative_rms(r.out[1].data(), ref_conv);
        r.ok       = true;
        return r;
    }

    // a feature flag of the CPU backend ("AVX2", "AVX512", ...), as ggml_backend_get_features reports it
    bool cpu_has(const char* feature) {
        ggml_backend_reg_t reg = ggml_backend_cpu_reg();
        auto get_features      = (ggml_backend_get_features_t)ggml_backend_reg_get_proc_address(reg, "ggml_backend_get_features");
        if (get_features == nullptr) {
            return false;
        }
        for (ggml_backend_feature* f = get_features(reg); f != nullptr && f->name != nullptr; f++) {
            if (strcmp(f->name, feature) == 0) {
                return strcmp(f->value, "0") != 0;
            }
        }
        return false;
    }

    double relative_difference(const std::vector<float>& a, const std::vector<float>& b) {
        std::vector<double> ref(b.begin(), b.end());
        return relative_rms(a.data(), ref);
    }

    void test_weight_repack() {
        ggml_backend_t backend = ggml_backend_cpu_init();
        // q4_0 has a repacked x86 kernel on AVX2 / AVX-512 (Q4_0 8x8, 16x4 with AVX512-VNNI); q8_0 has
        // one on x86 only with AVX512-VNNI (patch 0008)
        const bool q4_0_repacks = cpu_has("AVX2") || cpu_has("AVX512");
        const bool q8_0_repacks = cpu_has("AVX512_VNNI");
        // activations are rounded to q8_0 blocks (~0.3%); a wrong layout gives ~100%
        const double tol = 2e-2;
        // repacked and plain kernels quantize the activations alike and differ in summation order only
        const double tol_same = 1e-5;
        struct Case {
            ggml_type type;
            bool expect_repacked;
        };
        std::vector<Case> cases = {{GGML_TYPE_Q4_0, q4_0_repacks}, {GGML_TYPE_Q8_0, q8_0_repacks}, {GGML_TYPE_F16, false}};
        uint64_t seed = 4242;
        for (const auto& c : cases) {
            std::string type = ggml_type_name(c.type);
            RunnerOutputs on  = run_runner(backend, c.type, true, seed);
            RunnerOutputs off = run_runner(backend, c.type, false, seed);
            seed += 100;
            report(on.ok && off.ok, "repack " + type + ": runners compute");
            if (!on.ok || !off.ok) {
                continue;
            }
            char detail[160];
            snprintf(detail, sizeof(detail), "linear %d conv %d biases %d (expected %d %d 0)", on.weights_repacked[0],
                     on.weights_repacked[1], on.biases_repacked, c.expect_repacked, c.expect_repacked);
            report(on.weights_repacked[0] == c.expect_repacked && on.weights_repacked[1] == c.expect_repacked && !on.biases_repacked,
                   "repack " + type + ": which tensors are repacked", detail);
            report(!off.weights_repacked[0] && !off.weights_repacked[1] && !off.biases_repacked,
                   "repack off " + type + ": nothing repacked");
            // patch 0015: on the CPU backend the columns come in the kernel's vec_dot type
            const ggml_type cols_want = c.type == GGML_TYPE_F16 ? GGML_TYPE_F16 : GGML_TYPE_Q8_0;
            snprintf(detail, sizeof(detail), "%s and %s (expected %s)", ggml_type_name(on.conv_cols_type),
                     ggml_type_name(off.conv_cols_type), ggml_type_name(cols_want));
            report(on.conv_cols_type == cols_want && off.conv_cols_type == cols_want,
                   "repack on/off " + type + ": the conv's im2col writes the kernel's vec_dot type", detail);
            const char* block[2] = {"Linear", "Conv2d 3x3 (flat)"};
            for (int i = 0; i < 2; i++) {
                snprintf(detail, sizeof(detail), "relative RMS error %.2e (limit %.0e)", on.error[i], tol);
                report(on.error[i] >= 0 && on.error[i] < tol, "repack " + type + ": " + block[i] + " matches the reference", detail);
                double diff = relative_difference(on.out[i], off.out[i]);
                snprintf(detail, sizeof(detail), "relative RMS difference %.2e (limit %.0e)", diff, tol_same);
                report(diff < tol_same, "repack " + type + ": " + block[i] + " matches repacking off", detail);
            }
        }
        ggml_backend_free(backend);
    }

    // --- 0008: AVX512-VNNI repacked q8_0 / q4_0 gemm -------------------------------------------

    // A weight w [m rows of k] in ggml's CPU_REPACK buffer or in plain CPU memory, and a second
    // context (ctx_x) for the activations and products: make the tensors of ctx_x, then allocate().
    // Frees everything when it goes out of scope.
    struct WeightProductSetup {
        ggml_backend_buffer_type_t buft = nullptr;  // nullptr: this build has no CPU_REPACK
        ggml_context* ctx_w             = nullptr;
        ggml_context* ctx_x             = nullptr;
        ggml_tensor* w                  = nullptr;
        ggml_backend_buffer_t w_buffer  = nullptr;
        ggml_backend_buffer_t x_buffer  = nullptr;

        WeightProductSetup(ggml_type type, bool repack, int64_t m, int64_t k) {
            buft = repack ? ggml_ext_cpu_repack_buffer_type(ggml_backend_dev_by_type(GGML_BACKEND_DEVICE_TYPE_CPU))
                          : ggml_backend_cpu_buffer_type();
            ggml_init_params params = {8 * ggml_tensor_overhead() + ggml_graph_overhead(), nullptr, true};
            ctx_w                   = ggml_init(params);
            ctx_x                   = ggml_init(params);
            w                       = ggml_new_tensor_2d(ctx_w, type, k, m);
        }
        WeightProductSetup(const WeightProductSetup&)            = delete;
        WeightProductSetup& operator=(const WeightProductSetup&) = delete;
        ~WeightProductSetup() {
            ggml_backend_buffer_free(w_buffer);
            ggml_backend_buffer_free(x_buffer);
            ggml_free(ctx_w);
            ggml_free(ctx_x);
        }

        // places w (CPU_REPACK gives it its layout then: tensor->extra) and ctx_x's tensors
        bool allocate() {
            if (buft == nullptr) {
                return false;
            }
            w_buffer = ggml_backend_alloc_ctx_tensors_from_buft(ctx_w, buft);
            x_buffer = ggml_backend_alloc_ctx_tensors_from_buft(ctx_x, ggml_backend_cpu_buffer_type());
            return w_buffer != nullptr && x_buffer != nullptr;
        }

        // w got a repacked layout; one this CPU has no kernel for gets none, and uploading to it would
        // crash ggml
        bool repacked() const {
            return w_buffer != nullptr && w->extra != nullptr;
        }
    };

    struct ProductOutputs {
        bool ok       = false;
        bool repacked = false;  // the weight got a repacked layout (tensor->extra set by CPU_REPACK)
        double error  = -1.0;   // vs the double reference with the dequantized weights
        std::vector<float> out;
    };

    // w [m rows of k] (type) x x [batch planes of n rows of k] (f32), with w in CPU_REPACK or plain memory
    ProductOutputs weight_product(ggml_backend_t backend, ggml_type type, bool repack, int64_t m, int64_t k, int64_t n,
                                  int64_t batch, uint64_t seed) {
        ProductOutputs r;
        WeightProductSetup setup(type, repack, m, k);
        ggml_tensor* x = ggml_new_tensor_3d(setup.ctx_x, GGML_TYPE_F32, k, n, batch);
        ggml_tensor* y = ggml_mul_mat(setup.ctx_x, setup.w, x);
        if (!setup.allocate()) {
            return r;
        }
        r.repacked = setup.repacked();
        if (repack && !r.repacked) {
            r.ok = true;  // no output: the caller checks the layout only
            return r;
        }
        std::vector<float> w_held = upload(setup.w, random_values(m * k, seed, 1.0f / 16.0f), m, k);
        std::vector<float> xs     = random_values(n * k * batch, seed + 1, 1.0f);
        ggml_backend_tensor_set(x, xs.data(), 0, xs.size() * sizeof(float));
        ggml_cgraph* gf = ggml_new_graph(setup.ctx_x);
        ggml_build_forward_expand(gf, y);
        if (ggml_backend_graph_compute(backend, gf) == GGML_STATUS_SUCCESS) {
            r.out.resize(m * n * batch);
            ggml_backend_tensor_get(y, r.out.data(), 0, r.out.size() * sizeof(float));
            r.error = relative_rms(r.out.data(), reference_product(w_held.data(), 0, xs.data(), m, n, k, batch));
            r.ok    = true;
        }
        return r;
    }

    void test_repacked_gemm() {
        ggml_backend_t backend = ggml_backend_cpu_init();
        ggml_backend_cpu_set_n_threads(backend, 2);
        const bool vnni = cpu_has("AVX512_VNNI");
        struct Case {
            ggml_type type;
            int64_t m, k, n, batch;
            bool expect_repacked;
        };
        const bool q4_0_repacks = cpu_has("AVX2") || cpu_has("AVX512");
        std::vector<Case> cases;
        // rows: 8 + 4 tiles and one gemv row; one 16-row tile per chunk; planes of 4 rows; 5 x (8) + 4 + 1
        for (ggml_type type : {GGML_TYPE_Q8_0, GGML_TYPE_Q4_0}) {
            bool expect = type == GGML_TYPE_Q8_0 ? vnni : q4_0_repacks;
            cases.push_back({type, 48, 2880, 13, 1, expect});
            cases.push_back({type, 16, 32, 1, 1, expect});
            cases.push_back({type, 32, 96, 4, 3, expect});
            cases.push_back({type, 64, 320, 45, 2, expect});
        }
        uint64_t seed = 9001;
        for (const auto& c : cases) {
            ProductOutputs on  = weight_product(backend, c.type, true, c.m, c.k, c.n, c.batch, seed);
            ProductOutputs off = weight_product(backend, c.type, false, c.m, c.k, c.n, c.batch, seed);
            seed += 10;
            char name[128];
            snprintf(name, sizeof(name), "repacked mul_mat %s %lldx%lld by %lld rows x %lld", ggml_type_name(c.type), (long long)c.m,
                     (long long)c.k, (long long)c.n, (long long)c.batch);
            report(on.ok && off.ok, std::string(name) + ": computes");
            if (!on.ok || !off.ok) {
                continue;
            }
            char detail[160];
            snprintf(detail, sizeof(detail), "repacked %d (expected %d), plain %d", on.repacked, c.expect_repacked, off.repacked);
            report(on.repacked == c.expect_repacked && !off.repacked, std::string(name) + ": layout", detail);
            if (on.out.empty()) {
                continue;  // no repacked layout on this CPU (expected, or the layout check failed)
            }
            snprintf(detail, sizeof(detail), "relative RMS error %.2e (limit 2e-2)", on.error);
            report(on.error >= 0 && on.error < 2e-2, std::string(name) + ": matches the reference", detail);
            double diff = relative_difference(on.out, off.out);
            snprintf(detail, sizeof(detail), "relative RMS difference %.2e (limit 1e-5)", diff);
            report(diff < 1e-5, std::string(name) + ": matches the plain layout", detail);
        }
        ggml_backend_free(backend);
    }

    // --- 0009: im2col rows for stride-1 convolutions -------------------------------------------

    struct Im2colCase {
        const char* name;
        int64_t N, IC, IH, IW, KH, KW;
        int s0, s1, p0, p1, d0, d1;
        int64_t OH() const { return (IH + 2 * p1 - d1 * (KH - 1) - 1) / s1 + 1; }
        int64_t OW() const { return (IW + 2 * p0 - d0 * (KW - 1) - 1) / s0 + 1; }
        int64_t K() const { return IC * KH * KW; }
    };

    // a context holding x [N, IC, IH, IW] (f32, random values: xs) and room for two f32 im2col
    // results; ggml_im2col(ctx, kernel, x, ...) reads only the kernel's shape
    struct Im2colInput {
        ggml_context* ctx   = nullptr;
        ggml_tensor* kernel = nullptr;
        ggml_tensor* x      = nullptr;
        std::vector<float> xs;
        ggml_tensor* im2col(const Im2colCase& c, ggml_type type) const {
            return ggml_im2col(ctx, kernel, x, c.s0, c.s1, c.p0, c.p1, c.d0, c.d1, true, type);
        }
    };

    Im2colInput im2col_input(const Im2colCase& c, uint64_t seed) {
        Im2colInput in;
        size_t mem = (size_t)(c.N * c.IC * c.IH * c.IW + c.K() + 2 * c.N * c.OH() * c.OW() * c.K()) * 4 + 16 * ggml_tensor_overhead() +
                     ggml_graph_overhead() + (1 << 20);
        ggml_init_params params = {mem, nullptr, false};
        in.ctx                  = ggml_init(params);
        in.kernel               = ggml_new_tensor_4d(in.ctx, GGML_TYPE_F16, c.KW, c.KH, c.IC, 1);
        in.x                    = ggml_new_tensor_4d(in.ctx, GGML_TYPE_F32, c.IW, c.IH, c.IC, c.N);
        in.xs                   = random_values(c.N * c.IC * c.IH * c.IW, seed, 1.0f);
        memcpy(in.x->data, in.xs.data(), in.xs.size() * sizeof(float));
        return in;
    }

    // ggml_im2col of x [N, IC, IH, IW] (f32) with a KH x KW kernel, into f32 or f16, against the
    // definition; returns the number of elements that differ (f16: from the rounded reference)
    int64_t im2col_mismatches(ggml_type dst_type, const Im2colCase& c, uint64_t seed) {
        const int64_t N = c.N, IC = c.IC, IH = c.IH, IW = c.IW, KH = c.KH, KW = c.KW, OH = c.OH(), OW = c.OW(), K = c.K();
        const int s0 = c.s0, s1 = c.s1, p0 = c.p0, p1 = c.p1, d0 = c.d0, d1 = c.d1;
        Im2colInput in          = im2col_input(c, seed);
        ggml_context* ctx       = in.ctx;
        const std::vector<float>& xs = in.xs;
        ggml_tensor* cols       = in.im2col(c, dst_type);
        ggml_cgraph* gf         = ggml_new_graph(ctx);
        ggml_build_forward_expand(gf, cols);
        ggml_graph_compute_with_ctx(ctx, gf, 2);
        int64_t mismatches = 0;
        for (int64_t n = 0; n < N; n++) {
            for (int64_t oh = 0; oh < OH; oh++) {
                for (int64_t ow = 0; ow < OW; ow++) {
                    for (int64_t ic = 0; ic < IC; ic++) {
                        for (int64_t kh = 0; kh < KH; kh++) {
                            for (int64_t kw = 0; kw < KW; kw++) {
                                int64_t ih = oh * s1 + kh * d1 - p1, iw = ow * s0 + kw * d0 - p0;
                                float want = (ih < 0 || ih >= IH || iw < 0 || iw >= IW) ? 0.0f : xs[((n * IC + ic) * IH + ih) * IW + iw];
                                int64_t at = ((n * OH + oh) * OW + ow) * K + (ic * KH + kh) * KW + kw;
                                float got  = dst_type == GGML_TYPE_F32 ? ((const float*)cols->data)[at]
                                                                       : ggml_fp16_to_fp32(((const ggml_fp16_t*)cols->data)[at]);
                                if (dst_type == GGML_TYPE_F16) {
                                    want = ggml_fp16_to_fp32(ggml_fp32_to_fp16(want));
                                }
                                mismatches += got != want;
                            }
                        }
                    }
                }
            }
        }
        ggml_free(ctx);
        return mismatches;
    }

    void test_im2col() {
        std::vector<Im2colCase> cases = {
            {"3x3 pad 1 (U-Net/VAE conv), 2 images", 2, 5, 7, 6, 3, 3, 1, 1, 1, 1, 1, 1},
            {"3x3 pad 1, 37 wide (2 tiles + a partial one per row, threads split a row)", 1, 3, 5, 37, 3, 3, 1, 1, 1, 1, 1, 1},
            {"3x3 pad 1, 32 wide (whole tiles), 2 images", 2, 2, 3, 32, 3, 3, 1, 1, 1, 1, 1, 1},
            {"3x3 pad 0", 1, 3, 5, 9, 3, 3, 1, 1, 0, 0, 1, 1},
            {"3x3 pad 1, rows stride 2", 1, 4, 9, 8, 3, 3, 1, 2, 1, 1, 1, 1},
            {"3x3 pad 1, width 3 (no 4-wide copy fits)", 1, 6, 5, 3, 3, 3, 1, 1, 1, 1, 1, 1},
            {"3x3 dilation 2 in height", 1, 3, 9, 7, 3, 3, 1, 1, 1, 2, 1, 2},
            {"1x1", 1, 7, 4, 5, 1, 1, 1, 1, 0, 0, 1, 1},
            {"2x2 pad 1", 1, 3, 5, 6, 2, 2, 1, 1, 1, 1, 1, 1},
            {"4x4 pad 2", 1, 2, 6, 7, 4, 4, 1, 1, 2, 2, 1, 1},
            {"3x3 stride 2 (generic path)", 1, 4, 9, 9, 3, 3, 2, 2, 1, 1, 1, 1},
            {"5x5 (generic path)", 1, 2, 8, 8, 5, 5, 1, 1, 2, 2, 1, 1},
        };
        uint64_t seed = 555;
        for (const auto& c : cases) {
            for (ggml_type type : {GGML_TYPE_F32, GGML_TYPE_F16}) {
                int64_t bad = im2col_mismatches(type, c, seed++);
                char detail[64];
                snprintf(detail, sizeof(detail), "%lld elements differ", (long long)bad);
                report(bad == 0, std::string("im2col ") + ggml_type_name(type) + " " + c.name, detail);
            }
        }
    }

    // --- 0013-0015: quantized im2col, Q8_0 activations for repacked weights ----------------------

    // ggml_im2col of x [N, IC, IH, IW] into Q8_0 against the f32 im2col of the same graph copied
    // into Q8_0 (ggml_cpy quantizes with the CPU backend's from_float, the quantizer ggml_mul_mat
    // uses for its f32 src1); returns the number of rows whose bytes differ
    int64_t im2col_q8_0_mismatches(const Im2colCase& c, uint64_t seed) {
        Im2colInput in        = im2col_input(c, seed);
        ggml_tensor* cols_f32 = in.im2col(c, GGML_TYPE_F32);
        ggml_tensor* cols_q8  = in.im2col(c, GGML_TYPE_Q8_0);
        ggml_tensor* want     = ggml_cpy(in.ctx, cols_f32, ggml_new_tensor(in.ctx, GGML_TYPE_Q8_0, 4, cols_f32->ne));
        ggml_cgraph* gf       = ggml_new_graph(in.ctx);
        ggml_build_forward_expand(gf, want);
        ggml_build_forward_expand(gf, cols_q8);
        ggml_graph_compute_with_ctx(in.ctx, gf, 2);
        const int64_t K       = c.K();
        const int64_t rows    = c.N * c.OH() * c.OW();
        const size_t row_size = ggml_row_size(GGML_TYPE_Q8_0, K);
        int64_t mismatches    = 0;
        for (int64_t r = 0; r < rows; r++) {
            mismatches += memcmp((const uint8_t*)want->data + r * row_size, (const uint8_t*)cols_q8->data + r * row_size, row_size) != 0;
        }
        ggml_free(in.ctx);
        return mismatches;
    }

    void test_im2col_q8_0() {
        // IC * KH * KW must be a multiple of 32 (one Q8_0 block); rows (N * OH * OW) odd for the thread split
        std::vector<Im2colCase> cases = {
            {"3x3 pad 1 (U-Net/VAE conv), 2 images", 2, 32, 7, 5, 3, 3, 1, 1, 1, 1, 1, 1},
            {"3x3 pad 1, width 3", 1, 64, 5, 3, 3, 3, 1, 1, 1, 1, 1, 1},
            {"3x3 pad 1, 37 wide (partial tiles, threads split a row)", 1, 32, 5, 37, 3, 3, 1, 1, 1, 1, 1, 1},
            {"1x1", 1, 96, 3, 5, 1, 1, 1, 1, 0, 0, 1, 1},
            {"2x2 pad 1", 1, 8, 5, 6, 2, 2, 1, 1, 1, 1, 1, 1},
            {"3x3 stride 2 (generic path, U-Net downsample)", 1, 32, 9, 9, 3, 3, 2, 2, 1, 1, 1, 1},
            {"5x5 (generic path)", 1, 32, 6, 7, 5, 5, 1, 1, 2, 2, 1, 1},
        };
        uint64_t seed = 1313;
        for (const auto& c : cases) {
            int64_t bad = im2col_q8_0_mismatches(c, seed++);
            char detail[64];
            snprintf(detail, sizeof(detail), "%lld rows differ", (long long)bad);
            report(bad == 0, std::string("im2col q8_0 ") + c.name, detail);
        }
    }

    struct Q8ActivationOutputs {
        bool ok        = false;
        bool supported = false;  // the CPU backend takes the product with Q8_0 activations
        bool repacked  = false;
        std::vector<float> out_q8, out_f32;  // with Q8_0 activations, with the same ones in f32
    };

    // w [m rows of k] (type, CPU_REPACK or plain memory) x x [n rows of k], x given once as Q8_0 and
    // once as f32
    Q8ActivationOutputs q8_0_activation_product(ggml_backend_t backend, ggml_type type, bool repack, int64_t m, int64_t k,
                                                int64_t n, uint64_t seed) {
        Q8ActivationOutputs r;
        WeightProductSetup setup(type, repack, m, k);
        ggml_tensor* xq = ggml_new_tensor_2d(setup.ctx_x, GGML_TYPE_Q8_0, k, n);
        ggml_tensor* xf = ggml_new_tensor_2d(setup.ctx_x, GGML_TYPE_F32, k, n);
        ggml_tensor* yq = ggml_mul_mat(setup.ctx_x, setup.w, xq);
        ggml_tensor* yf = ggml_mul_mat(setup.ctx_x, setup.w, xf);
        if (!setup.allocate()) {
            return r;
        }
        r.repacked = setup.repacked();
        if (repack && !r.repacked) {
            r.ok = true;  // no output: the caller checks the layout only (no repacked kernel here)
            return r;
        }
        upload(setup.w, random_values(m * k, seed, 1.0f / 16.0f), m, k);
        // the f32 activations are the dequantized Q8_0 ones, so both products see the same values
        std::vector<float> xs_held = upload(xq, random_values(n * k, seed + 1, 1.0f), n, k);
        ggml_backend_tensor_set(xf, xs_held.data(), 0, xs_held.size() * sizeof(float));
        r.supported = ggml_backend_supports_op(backend, yq);
        if (!r.supported) {
            r.ok = true;
            return r;
        }
        ggml_cgraph* gf = ggml_new_graph(setup.ctx_x);
        ggml_build_forward_expand(gf, yq);
        ggml_build_forward_expand(gf, yf);
        if (ggml_backend_graph_compute(backend, gf) == GGML_STATUS_SUCCESS) {
            r.out_q8.resize(m * n);
            r.out_f32.resize(m * n);
            ggml_backend_tensor_get(yq, r.out_q8.data(), 0, r.out_q8.size() * sizeof(float));
            ggml_backend_tensor_get(yf, r.out_f32.data(), 0, r.out_f32.size() * sizeof(float));
            r.ok = true;
        }
        return r;
    }

    void test_repacked_q8_0_activations() {
        ggml_backend_t backend = ggml_backend_cpu_init();
        ggml_backend_cpu_set_n_threads(backend, 2);
        const bool q4_0_repacks = cpu_has("AVX2") || cpu_has("AVX512");
        const bool q8_0_repacks = cpu_has("AVX512_VNNI");
        uint64_t seed           = 7070;
        for (ggml_type type : {GGML_TYPE_Q4_0, GGML_TYPE_Q8_0}) {
            const bool expect = type == GGML_TYPE_Q4_0 ? q4_0_repacks : q8_0_repacks;
            // 13 and 45 rows: 8-row and 4-row tiles and gemv rows; 1 row: gemv only
            for (int64_t n : {13, 45, 1}) {
                Q8ActivationOutputs on  = q8_0_activation_product(backend, type, true, 48, 1152, n, seed);
                Q8ActivationOutputs off = q8_0_activation_product(backend, type, false, 48, 1152, n, seed);
                seed += 10;
                char name[128];
                snprintf(name, sizeof(name), "%s weight x q8_0 activations, 48x1152 by %lld rows", ggml_type_name(type), (long long)n);
                char detail[160];
                snprintf(detail, sizeof(detail), "computes %d/%d, repacked %d (expected %d), supported %d/%d", on.ok, off.ok,
                         on.repacked, expect, on.supported, off.supported);
                report(on.ok && off.ok && on.repacked == expect && off.supported && (on.supported || !on.repacked),
                       std::string(name) + ": the CPU backend takes it", detail);
                if (!on.repacked || !on.ok || !off.ok || on.out_q8.empty() || off.out_q8.empty()) {
                    continue;
                }
                report(on.supported, std::string(name) + ": the repacked layout takes it");
                double diff = relative_difference(on.out_q8, off.out_q8);
                snprintf(detail, sizeof(detail), "relative RMS difference %.2e (limit 1e-5)", diff);
                report(diff < 1e-5, std::string(name) + ": repacked matches the plain layout", detail);
                // f32 activations that are already q8_0 values re-quantize to (nearly) the same blocks
                diff = relative_difference(on.out_q8, on.out_f32);
                snprintf(detail, sizeof(detail), "relative RMS difference %.2e (limit 1e-3)", diff);
                report(diff < 1e-3, std::string(name) + ": matches the product with f32 activations", detail);
            }
        }
        ggml_backend_free(backend);
    }

    // ggml_ext_conv_2d_flat_cols_type's table against ggml-cpu: the CPU backend must take
    // ggml_mul_mat(w, cols) with cols in the chosen type (it takes F32 or w's vec_dot_type)
    void test_conv_cols_type_choice() {
        ggml_init_params params = {64 * ggml_tensor_overhead(), nullptr, true};
        ggml_context* ctx       = ggml_init(params);
        ggml_backend_t cpu      = ggml_backend_cpu_init();
        struct Case {
            ggml_type w;
            int64_t k;
            ggml_backend_t backend;
            ggml_type want;
            const char* name;
        };
        std::vector<Case> cases = {
            {GGML_TYPE_Q4_0, 288, cpu, GGML_TYPE_Q8_0, "q4_0 kernel on CPU -> q8_0"},
            {GGML_TYPE_Q8_0, 288, cpu, GGML_TYPE_Q8_0, "q8_0 kernel on CPU -> q8_0"},
            {GGML_TYPE_Q5_0, 288, cpu, GGML_TYPE_Q8_0, "q5_0 kernel on CPU -> q8_0"},
            {GGML_TYPE_IQ4_NL, 288, cpu, GGML_TYPE_Q8_0, "iq4_nl kernel on CPU -> q8_0"},
            {GGML_TYPE_Q4_1, 288, cpu, GGML_TYPE_Q8_1, "q4_1 kernel on CPU -> q8_1"},
            {GGML_TYPE_Q5_1, 288, cpu, GGML_TYPE_Q8_1, "q5_1 kernel on CPU -> q8_1"},
            {GGML_TYPE_F16, 27, cpu, GGML_TYPE_F16, "f16 kernel on CPU -> f16"},
            {GGML_TYPE_F32, 27, cpu, GGML_TYPE_F32, "f32 kernel on CPU -> f32"},
            {GGML_TYPE_BF16, 27, cpu, GGML_TYPE_F32, "bf16 kernel on CPU -> f32"},
            {GGML_TYPE_Q4_K, 2304, cpu, GGML_TYPE_F32, "q4_K kernel on CPU (vec_dot q8_K) -> f32"},
            {GGML_TYPE_Q8_0, 288, nullptr, GGML_TYPE_F32, "q8_0 kernel, no backend -> f32"},
        };
        for (const auto& c : cases) {
            ggml_tensor* w    = ggml_new_tensor_2d(ctx, c.w, c.k, 4);
            ggml_type got     = ggml_ext_conv_2d_flat_cols_type(c.backend, w);
            ggml_tensor* cols = ggml_new_tensor_2d(ctx, got, c.k, 9);
            bool taken        = ggml_backend_supports_op(cpu, ggml_mul_mat(ctx, w, cols));
            char detail[96];
            snprintf(detail, sizeof(detail), "%s, mul_mat supported by the CPU backend: %d", ggml_type_name(got), taken);
            report(got == c.want && taken, std::string("conv cols type: ") + c.name, detail);
        }
        ggml_backend_free(cpu);
        ggml_free(ctx);
    }

    // --- 0017: copies of permuted tensors ------------------------------------------------------

    // ggml_cont(ggml_permute(x, axes)) of x [ne3, ne2, ne1, ne0] (f32 or f16) against the definition;
    // returns the number of elements that differ
    int64_t permuted_copy_mismatches(ggml_type type, const int64_t ne[4], const int axes[4], uint64_t seed) {
        const int64_t n         = ne[0] * ne[1] * ne[2] * ne[3];
        size_t mem              = (size_t)n * 2 * 4 + 8 * ggml_tensor_overhead() + ggml_graph_overhead() + (1 << 16);
        ggml_init_params params = {mem, nullptr, false};
        ggml_context* ctx       = ggml_init(params);
        ggml_tensor* x          = ggml_new_tensor_4d(ctx, type, ne[0], ne[1], ne[2], ne[3]);
        std::vector<float> xs   = random_values(n, seed, 1.0f);
        if (type == GGML_TYPE_F16) {
            ggml_fp32_to_fp16_row(xs.data(), (ggml_fp16_t*)x->data, n);
        } else {
            memcpy(x->data, xs.data(), n * sizeof(float));
        }
        ggml_tensor* y  = ggml_cont(ctx, ggml_permute(ctx, x, axes[0], axes[1], axes[2], axes[3]));
        ggml_cgraph* gf = ggml_new_graph(ctx);
        ggml_build_forward_expand(gf, y);
        ggml_graph_compute_with_ctx(ctx, gf, 2);
        // ggml_permute puts x's dim i at y's dim axes[i]
        int64_t mismatches = 0;
        const size_t es    = ggml_type_size(type);
        for (int64_t i3 = 0; i3 < ne[3]; i3++) {
            for (int64_t i2 = 0; i2 < ne[2]; i2++) {
                for (int64_t i1 = 0; i1 < ne[1]; i1++) {
                    for (int64_t i0 = 0; i0 < ne[0]; i0++) {
                        int64_t idx[4] = {0, 0, 0, 0};
                        idx[axes[0]]   = i0;
                        idx[axes[1]]   = i1;
                        idx[axes[2]]   = i2;
                        idx[axes[3]]   = i3;
                        const char* want = (const char*)x->data + i0 * x->nb[0] + i1 * x->nb[1] + i2 * x->nb[2] + i3 * x->nb[3];
                        const char* got  = (const char*)y->data + idx[0] * y->nb[0] + idx[1] * y->nb[1] + idx[2] * y->nb[2] + idx[3] * y->nb[3];
                        mismatches += memcmp(want, got, es) != 0;
                    }
                }
            }
        }
        ggml_free(ctx);
        return mismatches;
    }

    void test_permuted_copy() {
        const int64_t ne[4] = {19, 37, 5, 3};  // partial tiles along every dim
        std::vector<std::array<int, 4>> perms;
        std::array<int, 4> p = {0, 1, 2, 3};
        do {
            perms.push_back(p);
        } while (std::next_permutation(p.begin(), p.end()));
        uint64_t seed = 1717;
        for (ggml_type type : {GGML_TYPE_F32, GGML_TYPE_F16}) {
            int64_t bad = 0;
            for (const auto& axes : perms) {
                bad += permuted_copy_mismatches(type, ne, axes.data(), seed++);
            }
            char detail[96];
            snprintf(detail, sizeof(detail), "%zu permutations of 19x37x5x3, %lld elements differ", perms.size(), (long long)bad);
            report(bad == 0, std::string("cont(permute) ") + ggml_type_name(type) + ": every permutation", detail);
        }
        // the flat conv's layout change: [N, OH, OW, OC] (ne {OC, OW, OH, N}) -> [N, OC, OH, OW]
        const int64_t conv[4] = {40, 33, 7, 2};
        const int conv_axes[4] = {2, 0, 1, 3};
        int64_t bad            = permuted_copy_mismatches(GGML_TYPE_F32, conv, conv_axes, seed++);
        report(bad == 0, "cont(permute) f32: the conv output's [OC, W, H] -> [W, H, OC]", std::to_string(bad) + " elements differ");
        // a transposed 2D view
        const int64_t mat[4] = {70, 45, 1, 1};
        const int mat_axes[4] = {1, 0, 2, 3};
        bad                   = permuted_copy_mismatches(GGML_TYPE_F16, mat, mat_axes, seed++);
        report(bad == 0, "cont(transpose) f16 70x45", std::to_string(bad) + " elements differ");
    }

    // --- 0018: binary ops with one src1 value per row -------------------------------------------

    // ggml_{add,sub,mul,div}(x, b) for x [W, H, C, N] of `type` and b of `b_type` with one value per
    // row (b_ne[0] == 1), in place or not, against the same float op element by element; returns
    // the number of elements whose bytes differ
    int64_t row_scalar_op_mismatches(char op, ggml_type type, ggml_type b_type, const int64_t b_ne[4], bool inplace, uint64_t seed) {
        const int64_t ne[4]     = {37, 5, 6, 2};  // rows longer than a vector with a tail
        const int64_t n         = ne[0] * ne[1] * ne[2] * ne[3];
        size_t mem              = (size_t)n * 3 * 4 + 8 * ggml_tensor_overhead() + ggml_graph_overhead() + (1 << 16);
        ggml_init_params params = {mem, nullptr, false};
        ggml_context* ctx       = ggml_init(params);
        ggml_tensor* x          = ggml_new_tensor(ctx, type, 4, ne);
        ggml_tensor* b          = ggml_new_tensor(ctx, b_type, 4, b_ne);
        std::vector<float> xs   = random_values(n, seed, 1.0f);
        std::vector<float> bs   = random_values(ggml_nelements(b), seed + 1, 1.0f);
        for (float& v : bs) {
            v += 3.0f;  // no division by (nearly) zero
        }
        auto store = [](ggml_tensor* t, std::vector<float>& v) {
            if (t->type == GGML_TYPE_F16) {
                ggml_fp32_to_fp16_row(v.data(), (ggml_fp16_t*)t->data, (int64_t)v.size());
                ggml_fp16_to_fp32_row((const ggml_fp16_t*)t->data, v.data(), (int64_t)v.size());  // the values it holds
            } else {
                memcpy(t->data, v.data(), v.size() * sizeof(float));
            }
        };
        store(x, xs);
        store(b, bs);
        ggml_tensor* y = nullptr;
        switch (op) {
            case '+': y = inplace ? ggml_add_inplace(ctx, x, b) : ggml_add(ctx, x, b); break;
            case '-': y = inplace ? ggml_sub_inplace(ctx, x, b) : ggml_sub(ctx, x, b); break;
            case '*': y = inplace ? ggml_mul_inplace(ctx, x, b) : ggml_mul(ctx, x, b); break;
            default: y = inplace ? ggml_div_inplace(ctx, x, b) : ggml_div(ctx, x, b); break;
        }
        ggml_cgraph* gf = ggml_new_graph(ctx);
        ggml_build_forward_expand(gf, y);
        ggml_graph_compute_with_ctx(ctx, gf, 2);
        int64_t mismatches = 0;
        for (int64_t i = 0; i < n; i++) {
            const int64_t i1 = i / ne[0] % ne[1], i2 = i / (ne[0] * ne[1]) % ne[2], i3 = i / (ne[0] * ne[1] * ne[2]);
            const float bv   = bs[((i3 % b_ne[3]) * b_ne[2] + i2 % b_ne[2]) * b_ne[1] + i1 % b_ne[1]];
            const float xv   = xs[i];
            float want     = op == '+' ? xv + bv : op == '-' ? xv - bv : op == '*' ? xv * bv : xv / bv;
            if (type == GGML_TYPE_F16) {
                mismatches += ((const ggml_fp16_t*)y->data)[i] != ggml_fp32_to_fp16(want);
            } else {
                mismatches += memcmp((const float*)y->data + i, &want, sizeof(float)) != 0;
            }
        }
        ggml_free(ctx);
        return mismatches;
    }

    void test_binary_op_row_scalar() {
        const int64_t per_channel[4] = {1, 1, 6, 1};  // a conv bias, GroupNorm's weight and bias
        const int64_t per_row[4]     = {1, 5, 6, 2};
        struct Types {
            ggml_type x, b;
        };
        uint64_t seed = 1818;
        for (Types t : {Types{GGML_TYPE_F32, GGML_TYPE_F32}, Types{GGML_TYPE_F16, GGML_TYPE_F16}, Types{GGML_TYPE_F16, GGML_TYPE_F32}}) {
            for (const int64_t* b_ne : {per_channel, per_row}) {
                int64_t bad = 0;
                for (char op : {'+', '-', '*', '/'}) {
                    for (bool inplace : {false, true}) {
                        bad += row_scalar_op_mismatches(op, t.x, t.b, b_ne, inplace, seed++);
                    }
                }
                char detail[64];
                snprintf(detail, sizeof(detail), "%lld elements differ", (long long)bad);
                report(bad == 0,
                       std::string("add/sub/mul/div ") + ggml_type_name(t.x) + " x [37, 5, 6, 2] by " + ggml_type_name(t.b) +
                           (b_ne == per_channel ? " [1, 1, 6, 1]" : " [1, 5, 6, 2]") + ", in place and not",
                       detail);
            }
        }
    }

    // softmax over the last dimension in double; -inf entries get weight 0
    std::vector<double> reference_softmax(const std::vector<float>& x, int64_t n, int64_t rows) {
        std::vector<double> y(x.size());
        for (int64_t r = 0; r < rows; r++) {
            const float* row = x.data() + r * n;
            double max = -INFINITY, sum = 0.0;
            for (int64_t i = 0; i < n; i++) {
                max = std::max(max, (double)row[i]);
            }
            for (int64_t i = 0; i < n; i++) {
                y[r * n + i] = std::exp((double)row[i] - max);
                sum += y[r * n + i];
            }
            for (int64_t i = 0; i < n; i++) {
                y[r * n + i] /= sum;
            }
        }
        return y;
    }

    void test_softmax() {
        const int64_t rows = 3;
        for (int64_t n : {1, 7, 8, 9, 15, 16, 17, 31, 33, 64, 77, 100, 4096}) {
            for (bool with_inf : {false, true}) {
                std::vector<float> x = random_values(n * rows, 9000 + n, 6.0f);
                if (with_inf) {
                    for (int64_t i = 1; i < n * rows; i += 3) {
                        x[i] = -INFINITY;  // as a causal or padding mask leaves them (every row keeps x[0])
                    }
                    for (int64_t r = 0; r < rows; r++) {
                        x[r * n] = 0.5f;
                    }
                }
                size_t mem              = (size_t)(n * rows * 2) * 4 + 8 * ggml_tensor_overhead() + ggml_graph_overhead() + (1 << 16);
                ggml_init_params params = {mem, nullptr, false};
                ggml_context* ctx       = ggml_init(params);
                ggml_tensor* xt         = ggml_new_tensor_2d(ctx, GGML_TYPE_F32, n, rows);
                memcpy(xt->data, x.data(), x.size() * sizeof(float));
                ggml_tensor* yt = ggml_soft_max(ctx, xt);
                ggml_cgraph* gf = ggml_new_graph(ctx);
                ggml_build_forward_expand(gf, yt);
                ggml_graph_compute_with_ctx(ctx, gf, 2);
                double err = relative_rms((const float*)yt->data, reference_softmax(x, n, rows));
                char detail[64];
                snprintf(detail, sizeof(detail), "relative RMS error %.2e", err);
                report(err < 1e-6, "soft_max rows of " + std::to_string(n) + (with_inf ? " with -inf entries" : ""), detail);
                ggml_free(ctx);
            }
        }
    }

    // softmax(q k^T * scale + mask) v per head, in double; q [lq][heads*d] (token-major, heads side
    // by side, as the U-Net's projections give them), k and v [lk][heads*d]; out like q
    std::vector<double> reference_attention(const std::vector<float>& q, const std::vector<float>& k, const std::vector<float>& v,
                                            int64_t lq, int64_t lk, int64_t d, int64_t heads, bool causal) {
        const int64_t C = d * heads;
        std::vector<double> out((size_t)(lq * C)), scores((size_t)lk);
        for (int64_t h = 0; h < heads; h++) {
            for (int64_t i = 0; i < lq; i++) {
                double max = -INFINITY, sum = 0.0;
                for (int64_t j = 0; j < lk; j++) {
                    double dot = 0.0;
                    for (int64_t c = 0; c < d; c++) {
                        dot += (double)q[i * C + h * d + c] * k[j * C + h * d + c];
                    }
                    scores[j] = (causal && j > i) ? -INFINITY : dot / std::sqrt((double)d);
                    max       = std::max(max, scores[j]);
                }
                for (int64_t j = 0; j < lk; j++) {
                    scores[j] = std::exp(scores[j] - max);
                    sum += scores[j];
                }
                for (int64_t c = 0; c < d; c++) {
                    double acc = 0.0;
                    for (int64_t j = 0; j < lk; j++) {
                        acc += scores[j] * v[j * C + h * d + c];
                    }
                    out[i * C + h * d + c] = acc / sum;
                }
            }
        }
        return out;
    }

    struct AttentionCase {
        const char* name;
        int64_t lq, lk, d, heads;
    };

    // random q [lq][C], k and v [lk][C] (C = heads * d), and a context with room for the graph
    struct AttentionInputs {
        std::vector<float> q, k, v;
        ggml_context* ctx;
    };

    AttentionInputs attention_inputs(int64_t lq, int64_t lk, int64_t C, int64_t scores, uint64_t seed) {
        AttentionInputs in{random_values(lq * C, seed, 1.5f), random_values(lk * C, seed + 1, 1.5f),
                           random_values(lk * C, seed + 2, 1.0f), nullptr};
        size_t mem              = (size_t)((lq + 2 * lk) * C * 6 + scores * 2) * 4 + 64 * ggml_tensor_overhead() + ggml_graph_overhead() + (4 << 20);
        ggml_init_params params = {mem, nullptr, false};
        in.ctx                  = ggml_init(params);
        return in;
    }

    void test_flash_attention_f32() {
        // the tiled kernel works on 64 queries x 64 keys; fewer than 64 queries take the per-row kernel
        const AttentionCase cases[] = {
            {"SD1.x full resolution: heads of 40, 2 query tiles, partial key tile", 128, 200, 40, 2},
            {"cross-attention, 77 tokens, heads of 40", 64, 77, 40, 8},
            {"heads of 80, partial query tile", 100, 77, 80, 2},
            {"heads of 160", 70, 64, 160, 2},
            {"heads of 24 (8 past a 16-float vector)", 96, 96, 24, 2},
            {"heads of 20 (not a multiple of 8)", 80, 50, 20, 2},
            {"16 queries (per-row kernel)", 16, 77, 80, 2},
        };
        ggml_backend_t backend = ggml_backend_cpu_init();
        ggml_backend_cpu_set_n_threads(backend, 2);
        uint64_t seed = 7100;
        for (const auto& c : cases) {
            const int64_t C    = c.d * c.heads;
            AttentionInputs in = attention_inputs(c.lq, c.lk, C, c.lq * c.lk * c.heads, seed);
            seed += 3;
            const std::vector<float>&q = in.q, &k = in.k, &v = in.v;
            ggml_context* ctx          = in.ctx;
            ggml_tensor* qt            = ggml_new_tensor_3d(ctx, GGML_TYPE_F32, C, c.lq, 1);
            ggml_tensor* kt         = ggml_new_tensor_3d(ctx, GGML_TYPE_F32, C, c.lk, 1);
            ggml_tensor* vt         = ggml_new_tensor_3d(ctx, GGML_TYPE_F32, C, c.lk, 1);
            memcpy(qt->data, q.data(), q.size() * sizeof(float));
            memcpy(kt->data, k.data(), k.size() * sizeof(float));
            memcpy(vt->data, v.data(), v.size() * sizeof(float));
            ggml_tensor* out = ggml_ext_attention_ext(ctx, backend, qt, kt, vt, c.heads, nullptr, false, true);
            ggml_cgraph* gf  = ggml_new_graph(ctx);
            ggml_build_forward_expand(gf, out);
            bool flash = false, f32_only = true;
            for (int i = 0; i < ggml_graph_n_nodes(gf); i++) {
                ggml_tensor* node = ggml_graph_node(gf, i);
                flash |= node->op == GGML_OP_FLASH_ATTN_EXT;
                f32_only &= node->type == GGML_TYPE_F32 && node->op != GGML_OP_PAD && node->op != GGML_OP_CONCAT;
            }
            ggml_graph_compute_with_ctx(ctx, gf, 2);
            double err = relative_rms((const float*)out->data, reference_attention(q, k, v, c.lq, c.lk, c.d, c.heads, false));
            char detail[96];
            snprintf(detail, sizeof(detail), "relative RMS error %.2e, flash op %s, f32 only %s", err, flash ? "yes" : "no",
                     f32_only ? "yes" : "no");
            report(flash && f32_only && err < 1e-5, std::string("flash attention f32 ") + c.name, detail);
            ggml_free(ctx);
        }
        ggml_backend_free(backend);
    }

    // ggml_flash_attn_ext directly, with f16 K and V (what other backends' callers and old graphs
    // pass) and an optional causal mask (the text encoder's), through the tiled kernel
    void test_flash_attention_f16_kv() {
        const struct {
            const char* name;
            int64_t lq, lk, d, heads;
            bool causal;
        } cases[] = {
            {"heads of 40, partial key tile", 128, 130, 40, 2, false},
            {"causal mask, 77 tokens, heads of 64", 77, 77, 64, 2, true},
        };
        uint64_t seed = 7300;
        for (const auto& c : cases) {
            const int64_t C    = c.d * c.heads;
            AttentionInputs in = attention_inputs(c.lq, c.lk, C, c.lq * c.lk, seed);
            seed += 3;
            std::vector<float>&q = in.q, &k = in.k, &v = in.v;  // k, v: rounded to f16 below
            ggml_context* ctx    = in.ctx;
            // ggml's layout: [d, tokens, heads]; our vectors are [tokens][heads][d]
            ggml_tensor* qt = ggml_new_tensor_3d(ctx, GGML_TYPE_F32, c.d, c.lq, c.heads);
            ggml_tensor* kt = ggml_new_tensor_3d(ctx, GGML_TYPE_F16, c.d, c.lk, c.heads);
            ggml_tensor* vt = ggml_new_tensor_3d(ctx, GGML_TYPE_F16, c.d, c.lk, c.heads);
            for (int64_t h = 0; h < c.heads; h++) {
                for (int64_t t = 0; t < c.lq; t++) {
                    memcpy((float*)qt->data + (h * c.lq + t) * c.d, q.data() + t * C + h * c.d, c.d * sizeof(float));
                }
                for (int64_t t = 0; t < c.lk; t++) {
                    ggml_fp32_to_fp16_row(k.data() + t * C + h * c.d, (ggml_fp16_t*)kt->data + (h * c.lk + t) * c.d, c.d);
                    ggml_fp32_to_fp16_row(v.data() + t * C + h * c.d, (ggml_fp16_t*)vt->data + (h * c.lk + t) * c.d, c.d);
                    // the reference uses the f16-rounded values
                    ggml_fp16_to_fp32_row((ggml_fp16_t*)kt->data + (h * c.lk + t) * c.d, k.data() + t * C + h * c.d, c.d);
                    ggml_fp16_to_fp32_row((ggml_fp16_t*)vt->data + (h * c.lk + t) * c.d, v.data() + t * C + h * c.d, c.d);
                }
            }
            ggml_tensor* mask = nullptr;
            if (c.causal) {
                mask = ggml_new_tensor_2d(ctx, GGML_TYPE_F16, c.lk, c.lq);
                for (int64_t i = 0; i < c.lq; i++) {
                    for (int64_t j = 0; j < c.lk; j++) {
                        ((ggml_fp16_t*)mask->data)[i * c.lk + j] = ggml_fp32_to_fp16(j > i ? -INFINITY : 0.0f);
                    }
                }
            }
            ggml_tensor* out = ggml_flash_attn_ext(ctx, qt, kt, vt, mask, 1.0f / std::sqrt((float)c.d), 0.0f, 0.0f);
            ggml_flash_attn_ext_set_prec(out, GGML_PREC_F32);  // out: [d, heads, lq]
            ggml_cgraph* gf = ggml_new_graph(ctx);
            ggml_build_forward_expand(gf, out);
            ggml_graph_compute_with_ctx(ctx, gf, 2);
            double err = relative_rms((const float*)out->data, reference_attention(q, k, v, c.lq, c.lk, c.d, c.heads, c.causal));
            char detail[64];
            snprintf(detail, sizeof(detail), "relative RMS error %.2e", err);
            report(err < 1e-5, std::string("flash attention f16 K/V ") + c.name, detail);
            ggml_free(ctx);
        }
    }

}  // namespace

int main() {
    test_sgemm_inner_dimensions();
    test_weight_repack();
    test_repacked_gemm();
    test_im2col();
    test_im2col_q8_0();
    test_repacked_q8_0_activations();
    test_conv_cols_type_choice();
    test_permuted_copy();
    test_binary_op_row_scalar();
    test_softmax();
    test_flash_attention_f32();
    test_flash_attention_f16_kv();
    return test_report::finish();
}
