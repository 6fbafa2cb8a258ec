// DeepCache tests for the patched stable-diffusion.cpp U-Net (patches/0002-unet-deepcache.patch).
//
// Builds UNetModelRunner directly (no model file) for the SD1.x, tiny SD1.x and SDXL layouts with seeded
// random weights and checks, on the CPU backend with 2 threads:
//   - the schedule of DeepCacheState / the sampler's cache runtime (pure logic),
//   - a store pass returns exactly the plain output,
//   - for every depth, a reuse pass right after a store pass on the same inputs reproduces the
//     full output bit-exactly (memcmp), with and without ControlNet controls,
//   - a reuse pass on a different x differs from the full output on that x,
//   - the reuse graph holds no parameter of a skipped block (input blocks > d, middle block,
//     output blocks < n_out-1-d),
//   - slots never mix (store A, store B, reuse A == full A),
//   - a reuse request without a valid stored tensor (empty slot, other depth, other latent
//     size) falls back to a full evaluation and reports it.
// Prints one PASS/FAIL line per case; the exit status is the number of failures (capped).

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdarg>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "diffusion_model.hpp"
#include "sample-cache.h"
#include "test_report.hpp"

namespace {

    using test_report::g_failures;
    using test_report::g_passes;
    using test_report::report;

    void log_cb(enum sd_log_level_t level, const char* text, void*) {
        if (level >= SD_LOG_WARN) {
            fprintf(stderr, "[engine] %s", text);
        }
    }

    // process CPU time (all threads): less noisy than wall time on a shared machine
    double cpu_ms() {
        return 1000.0 * static_cast<double>(std::clock()) / CLOCKS_PER_SEC;
    }

    double now_ms() {
        return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now().time_since_epoch()).count();
    }

    // --- random numbers -----------------------------------------------------------------

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
            float u = static_cast<float>((next() >> 40) * (1.0 / 16777216.0));  // [0, 1)
            return (2.0f * u - 1.0f) * 1.7320508f;
        }
    };

    uint64_t hash_name(const std::string& s, uint64_t seed) {
        uint64_t h = 1469598103934665603ull ^ seed;
        for (unsigned char c : s) {
            h = (h ^ c) * 1099511628211ull;
        }
        return h;
    }

    sd::Tensor<float> random_tensor(std::vector<int64_t> shape, uint64_t seed, float scale = 1.0f) {
        sd::Tensor<float> t(std::move(shape));
        SplitMix64 rng(seed);
        for (int64_t i = 0; i < t.numel(); i++) {
            t.data()[i] = rng.unit() * scale;
        }
        return t;
    }

    bool ends_with(const std::string& s, const std::string& suffix) {
        return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
    }

    // weights ~ U with std 1/sqrt(fan_in), norm scales ~ 1 + small, biases small. Copying from
    // a random pool per scale (at a random offset per tensor) keeps SDXL's 2.6B values fast.
    struct ParamFiller {
        static const int64_t pool_size = 1 << 22;
        uint64_t seed                  = 0;
        std::map<std::pair<int, float>, std::vector<uint8_t>> pools;  // (type, scale) -> values

        const std::vector<uint8_t>& pool(ggml_type type, float scale, float offset) {
            auto key = std::make_pair(static_cast<int>(type), scale + offset * 1000.0f);
            auto it  = pools.find(key);
            if (it != pools.end()) {
                return it->second;
            }
            SplitMix64 rng(seed ^ hash_name(std::to_string(key.second), static_cast<uint64_t>(type)));
            std::vector<float> f32(pool_size);
            for (auto& v : f32) {
                v = offset + rng.unit() * scale;
            }
            std::vector<uint8_t> bytes(pool_size * ggml_type_size(type));
            if (type == GGML_TYPE_F32) {
                memcpy(bytes.data(), f32.data(), bytes.size());
            } else {
                ggml_fp32_to_fp16_row(f32.data(), reinterpret_cast<ggml_fp16_t*>(bytes.data()), pool_size);
            }
            return pools[key] = std::move(bytes);
        }

        void fill(const std::string& name, ggml_tensor* t) {
            int64_t n    = ggml_nelements(t);
            int n_dims   = ggml_n_dims(t);
            float scale  = 0.02f;
            float offset = 0.0f;
            if (n_dims >= 2) {
                int64_t fan_in = n / t->ne[n_dims - 1];
                scale          = 1.0f / std::sqrt(static_cast<float>(fan_in));
            } else if (ends_with(name, ".weight") && name.find("norm") != std::string::npos) {
                scale  = 0.1f;
                offset = 1.0f;
            }
            GGML_ASSERT(t->type == GGML_TYPE_F32 || t->type == GGML_TYPE_F16);
            const auto& values = pool(t->type, scale, offset);
            size_t esize       = ggml_type_size(t->type);
            int64_t pos        = static_cast<int64_t>(hash_name(name, seed) % pool_size);
            for (int64_t start = 0; start < n;) {
                int64_t len = std::min(n - start, pool_size - pos);
                ggml_backend_tensor_set(t, values.data() + pos * esize, start * esize, len * esize);
                start += len;
                pos = 0;
            }
        }
    };

    bool bit_equal(const sd::Tensor<float>& a, const sd::Tensor<float>& b) {
        return !a.empty() && a.shape() == b.shape() &&
               std::memcmp(a.data(), b.data(), static_cast<size_t>(a.numel()) * sizeof(float)) == 0;
    }

    double max_abs_diff(const sd::Tensor<float>& a, const sd::Tensor<float>& b) {
        if (a.shape() != b.shape()) {
            return INFINITY;
        }
        double m = 0.0;
        for (int64_t i = 0; i < a.numel(); i++) {
            m = std::max(m, static_cast<double>(std::fabs(a.data()[i] - b.data()[i])));
        }
        return m;
    }

    bool all_finite(const sd::Tensor<float>& a) {
        for (int64_t i = 0; i < a.numel(); i++) {
            if (!std::isfinite(a.data()[i])) {
                return false;
            }
        }
        return true;
    }

    std::string fmt(const char* f, ...) {
        char buf[512];
        va_list args;
        va_start(args, f);
        vsnprintf(buf, sizeof(buf), f, args);
        va_end(args);
        return buf;
    }

    // --- schedule (no model) -------------------------------------------------------------

    void test_schedule() {
        auto run = [](int interval, int start, int end, int evaluations, std::string* actions) {
            DeepCacheConfig config;
            config.interval = interval;
            config.start    = start;
            config.end      = end;
            DeepCacheState state;
            state.init(config);
            actions->clear();
            for (int e = 0; e < evaluations; e++) {
                state.begin_evaluation();
                actions->push_back(state.action == DeepCacheAction::NONE    ? 'n'
                                   : state.action == DeepCacheAction::STORE ? 'S'
                                                                            : 'r');
                state.end_evaluation();
            }
            return std::make_pair(state.full_evaluations, state.reused_evaluations);
        };
        std::string a;
        auto c = run(3, 0, -1, 10, &a);
        report(a == "SrrSrrSrrS" && c.first == 4 && c.second == 6, "schedule interval=3 window=[0,-1) x10", a);
        c = run(3, 2, 8, 10, &a);
        report(a == "nnSrrSrrnn" && c.first == 6 && c.second == 4, "schedule interval=3 window=[2,8) x10", a);
        c = run(2, 1, -1, 9, &a);  // e.g. heun with 5 steps: 2*5-1 evaluations
        report(a == "nSrSrSrSr" && c.first == 5 && c.second == 4, "schedule interval=2 window=[1,-1) x9", a);

        // the sampler's runtime: one decision per evaluation, the same for every conditioning
        sd_cache_params_t params;
        sd_cache_params_init(&params);
        report(params.mode == SD_CACHE_DISABLED && params.deepcache_interval == 3 && params.deepcache_depth == 0 &&
                   params.deepcache_start == 0 && params.deepcache_end == -1,
               "sd_cache_params_init DeepCache defaults");
        params.mode               = SD_CACHE_DEEPCACHE;
        params.deepcache_interval = 3;
        params.deepcache_depth    = 1;
        std::vector<float> sigmas(11, 1.0f);
        auto runtime = sd_sample::init_sample_cache_runtime(VERSION_SD1, &params, nullptr, sigmas);
        bool ok      = runtime.deepcache_enabled();
        std::string seen;
        for (int e = 0; e < 7 && ok; e++) {
            // step numbers as the samplers pass them (negative for the second stage of 2-stage samplers)
            sd_sample::SampleStepCacheDispatcher step_cache(runtime, (e % 2) ? -(e + 1) : (e + 1), 1.0f);
            DeepCacheRequest cond   = step_cache.deepcache_request(DEEPCACHE_SLOT_COND);
            DeepCacheRequest uncond = step_cache.deepcache_request(DEEPCACHE_SLOT_UNCOND);
            ok                      = ok && cond.action == uncond.action && cond.depth == 1 &&
                 cond.slot == DEEPCACHE_SLOT_COND && uncond.slot == DEEPCACHE_SLOT_UNCOND;
            seen.push_back(cond.action == DeepCacheAction::STORE ? 'S' : cond.action == DeepCacheAction::REUSE ? 'r'
                                                                                                               : 'n');
        }
        ok = ok && seen == "SrrSrrS" && runtime.deepcache.full_evaluations == 3 && runtime.deepcache.reused_evaluations == 4;
        report(ok, "sampler runtime: one decision per evaluation, same for cond/uncond", seen);

        bool off                  = true;
        params.deepcache_interval = 1;
        off                       = off && !sd_sample::init_sample_cache_runtime(VERSION_SD1, &params, nullptr, sigmas).deepcache_enabled();
        params.deepcache_interval = 3;
        params.deepcache_start    = 5;
        params.deepcache_end      = 5;
        off                       = off && !sd_sample::init_sample_cache_runtime(VERSION_SD1, &params, nullptr, sigmas).deepcache_enabled();
        params.deepcache_start    = 0;
        params.deepcache_end      = -1;
        off                       = off && !sd_sample::init_sample_cache_runtime(VERSION_FLUX, &params, nullptr, sigmas).deepcache_enabled();
        off                       = off && sd_sample::init_sample_cache_runtime(VERSION_SDXL, &params, nullptr, sigmas).deepcache_enabled();
        report(off, "runtime off for interval<=1, empty window, non-U-Net (on for SDXL)");
    }

    // --- U-Net -----------------------------------------------------------------------------

    struct Layout {
        const char* name;
        SDVersion version;
        int context_dim;
        int adm_in_channels;            // 0: no y
        std::vector<int> channel_mult;  // to derive the shapes of the skip connections
        int num_res_blocks;
        int model_channels;
        bool tiny;  // tiny U-Nets skip some block names and have no middle block
    };

    // names of the blocks behind hs[k] and behind the k-th output block iteration, following
    // UnetModelBlock's naming (tiny U-Nets leave gaps in both)
    void block_names(const Layout& layout,
                     std::vector<std::set<std::string>>* in_names,
                     std::vector<std::set<std::string>>* out_names) {
        int len = static_cast<int>(layout.channel_mult.size());
        int idx = 0;
        in_names->push_back({"input_blocks.0"});
        for (int i = 0; i < len; i++) {
            for (int j = 0; j < layout.num_res_blocks; j++) {
                idx++;
                in_names->push_back({"input_blocks." + std::to_string(idx)});
            }
            if (layout.tiny) {
                idx++;
            }
            if (i != len - 1) {
                idx++;
                in_names->push_back({"input_blocks." + std::to_string(idx)});
            }
        }
        idx = 0;
        for (int i = len - 1; i >= 0; i--) {
            for (int j = 0; j < layout.num_res_blocks + 1; j++) {
                std::set<std::string> names = {"output_blocks." + std::to_string(idx)};
                if (i > 0 && j == layout.num_res_blocks && layout.tiny) {
                    idx++;  // the upsampler of this iteration
                    names.insert("output_blocks." + std::to_string(idx));
                }
                out_names->push_back(names);
                idx++;
            }
        }
    }

    // shapes of hs[0..n_out-1] and of the middle block output, as [W, H, C, N]
    std::vector<std::vector<int64_t>> skip_shapes(const Layout& layout, int W, int H) {
        std::vector<std::vector<int64_t>> shapes;
        int64_t w = W, h = H;
        shapes.push_back({w, h, layout.model_channels, 1});
        for (size_t i = 0; i < layout.channel_mult.size(); i++) {
            int64_t ch = layout.channel_mult[i] * layout.model_channels;
            for (int j = 0; j < layout.num_res_blocks; j++) {
                shapes.push_back({w, h, ch, 1});
            }
            if (i + 1 != layout.channel_mult.size()) {
                w = (w + 1) / 2;
                h = (h + 1) / 2;
                shapes.push_back({w, h, ch, 1});
            }
        }
        shapes.push_back(shapes.back());  // middle block
        return shapes;
    }

    std::string block_of(const std::string& name) {
        // "model.diffusion_model.input_blocks.4.1.proj_in.weight" -> "input_blocks.4"
        std::string s = name.substr(std::string("model.diffusion_model.").size());
        size_t p      = s.find('.');
        std::string b = s.substr(0, p);
        if (b == "input_blocks" || b == "output_blocks") {
            size_t q = s.find('.', p + 1);
            return s.substr(0, q);
        }
        return b;
    }

    std::set<std::string> blocks_in_graph(ggml_cgraph* gf, const std::map<const ggml_tensor*, std::string>& param_names) {
        std::set<std::string> blocks;
        for (int i = 0; i < ggml_graph_n_nodes(gf); i++) {
            ggml_tensor* node = ggml_graph_node(gf, i);
            for (int s = 0; s < GGML_MAX_SRC; s++) {
                auto it = param_names.find(node->src[s]);
                if (it != param_names.end()) {
                    blocks.insert(block_of(it->second));
                }
            }
        }
        return blocks;
    }

    void test_unet(const Layout& layout, int W, int H) {
        printf("== %s U-Net, latent %dx%d, 2 threads\n", layout.name, W, H);
        const int n_threads      = 2;
        const std::string prefix = "model.diffusion_model";
        ggml_backend_t backend   = ggml_backend_cpu_init();

        // f16 for every matrix (Conv2d already is), so SDXL stays around 5 GB
        String2TensorStorage storage_map;
        {
            UNetModelRunner probe(backend, false, {}, prefix, layout.version);
            std::map<std::string, ggml_tensor*> tensors;
            probe.get_param_tensors(tensors, prefix);
            for (auto& kv : tensors) {
                int n_dims = ggml_n_dims(kv.second);
                if (n_dims >= 2) {
                    storage_map[kv.first] = TensorStorage(kv.first, GGML_TYPE_F16, kv.second->ne, n_dims, 0);
                }
            }
        }

        double t0 = now_ms();
        UNetModelRunner runner(backend, false, storage_map, prefix, layout.version);
        if (!runner.alloc_params_buffer()) {
            report(false, std::string(layout.name) + ": alloc params");
            ggml_backend_free(backend);
            return;
        }
        std::map<std::string, ggml_tensor*> tensors;
        runner.get_param_tensors(tensors, prefix);
        ParamFiller filler;
        filler.seed = 1234;
        for (auto& kv : tensors) {
            filler.fill(kv.first, kv.second);
        }
        std::map<const ggml_tensor*, std::string> param_names;
        for (auto& kv : tensors) {
            param_names[kv.second] = kv.first;
        }
        printf("%s: %zu tensors, %.1f MB params, init %.1f s\n",
               layout.name,
               tensors.size(),
               runner.get_params_buffer_size() / 1024.0 / 1024.0,
               (now_ms() - t0) / 1000.0);

        std::vector<std::set<std::string>> in_names, out_names;
        block_names(layout, &in_names, &out_names);

        const int max_depth = runner.get_deepcache_max_depth();
        const int n_out     = max_depth + 1;
        int expected_n_out  = static_cast<int>(layout.channel_mult.size()) * (layout.num_res_blocks + 1);
        report(n_out == expected_n_out && static_cast<int>(in_names.size()) == n_out && static_cast<int>(out_names.size()) == n_out,
               fmt("%s: max depth %d (n_out %d)", layout.name, max_depth, n_out));

        auto x     = random_tensor({W, H, 4, 1}, 11);
        auto x2    = random_tensor({W, H, 4, 1}, 12);
        auto x_big = random_tensor({W * 2, H, 4, 1}, 13);
        sd::Tensor<float> timesteps({1}, std::vector<float>{500.0f});
        auto context  = random_tensor({layout.context_dim, 77, 1}, 21);
        auto context2 = random_tensor({layout.context_dim, 77, 1}, 22);
        sd::Tensor<float> y, y2;
        if (layout.adm_in_channels > 0) {
            y  = random_tensor({layout.adm_in_channels, 1}, 31);
            y2 = random_tensor({layout.adm_in_channels, 1}, 32);
        }
        std::vector<sd::Tensor<float>> controls;
        auto shapes = skip_shapes(layout, W, H);
        for (size_t i = 0; i < shapes.size(); i++) {
            controls.push_back(random_tensor(shapes[i], 100 + i));
        }
        const std::vector<sd::Tensor<float>> no_controls;

        double last_ms     = 0.0;
        double last_cpu_ms = 0.0;
        auto run           = [&](const sd::Tensor<float>& xin,
                       const sd::Tensor<float>& ctx,
                       const sd::Tensor<float>& yin,
                       DeepCacheAction action,
                       int depth,
                       int slot,
                       bool* fell_back                             = nullptr,
                       const std::vector<sd::Tensor<float>>& ctrls = {}) {
            DeepCacheRequest request;
            request.action    = action;
            request.depth     = depth;
            request.slot      = slot;
            request.fell_back = fell_back;
            double t          = now_ms();
            double c          = cpu_ms();
            auto out          = runner.compute(n_threads, xin, timesteps, ctx, {}, yin, -1, ctrls, 0.5f, request);
            last_ms           = now_ms() - t;
            last_cpu_ms       = cpu_ms() - c;
            return out;
        };

        // plain outputs
        auto full          = run(x, context, y, DeepCacheAction::NONE, 0, -1);
        double full_ms     = last_ms;
        auto again         = run(x, context, y, DeepCacheAction::NONE, 0, -1);
        full_ms            = last_ms;  // the first evaluation also allocates and warms up
        double full_cpu_ms = last_cpu_ms;
        report(!full.empty() && all_finite(full) && bit_equal(full, again),
               fmt("%s: plain evaluation is finite and deterministic", layout.name));
        auto full2    = run(x2, context2, y2, DeepCacheAction::NONE, 0, -1);
        auto full_x2  = run(x2, context, y, DeepCacheAction::NONE, 0, -1);
        auto full_big = run(x_big, context, y, DeepCacheAction::NONE, 0, -1);
        auto full_ctl = run(x, context, y, DeepCacheAction::NONE, 0, -1, nullptr, controls);
        report(!full_ctl.empty() && max_abs_diff(full_ctl, full) > 0, fmt("%s: controls change the plain output", layout.name));

        printf("%s: plain evaluation %.0f ms wall, %.0f ms cpu\n", layout.name, full_ms, full_cpu_ms);
        printf("%-6s %5s %16s %16s %14s %12s\n", "", "depth", "store wall/cpu", "reuse wall/cpu", "speedup (cpu)", "|reuse(x2)-full(x2)|");

        for (int d = 0; d <= max_depth; d++) {
            bool fell_back = false;
            auto stored    = run(x, context, y, DeepCacheAction::STORE, d, 0, &fell_back);
            double st_ms   = last_ms;
            double st_cpu  = last_cpu_ms;
            auto reused    = run(x, context, y, DeepCacheAction::REUSE, d, 0, &fell_back);
            double re_ms   = last_ms;
            double re_cpu  = last_cpu_ms;
            report(bit_equal(stored, full), fmt("%s depth %d: store output == plain output (memcmp)", layout.name, d));
            report(bit_equal(reused, full) && !fell_back,
                   fmt("%s depth %d: reuse after store == full output (memcmp), max|diff| %.3g",
                       layout.name, d, max_abs_diff(reused, full)));

            // the shallow graph holds no parameter of a skipped block
            {
                DeepCacheRequest request;
                request.action = DeepCacheAction::REUSE;
                request.depth  = d;
                request.slot   = 0;
                runner.reset_compute_ctx();
                ggml_cgraph* gf                = runner.build_graph(x, timesteps, context, {}, y, -1, {}, 0.f, request);
                auto blocks                    = blocks_in_graph(gf, param_names);
                std::set<std::string> expected = {"time_embed", "out"};
                if (layout.adm_in_channels > 0) {
                    expected.insert("label_emb");
                }
                for (int k = 0; k < n_out; k++) {
                    if (k <= d) {
                        expected.insert(in_names[k].begin(), in_names[k].end());
                    }
                    if (k >= n_out - 1 - d) {
                        expected.insert(out_names[k].begin(), out_names[k].end());
                    }
                }
                std::string bad;
                for (const auto& b : blocks) {
                    if (expected.count(b) == 0) {
                        bad += " unexpected:" + b;
                    }
                }
                for (const auto& b : expected) {
                    if (blocks.count(b) == 0) {
                        bad += " missing:" + b;
                    }
                }
                bool ok = bad.empty();
                report(ok, fmt("%s depth %d: reuse graph has only input blocks 0..%d and output blocks %d..%d (%d nodes)", layout.name, d, d, n_out - 1 - d, n_out - 1, ggml_graph_n_nodes(gf)),
                       bad);
            }

            // the shallow path really runs: a different x gives something else than the full output on it
            auto reused_x2 = run(x2, context, y, DeepCacheAction::REUSE, d, 0, &fell_back);
            double diff2   = max_abs_diff(reused_x2, full_x2);
            report(!reused_x2.empty() && !fell_back && diff2 > 0,
                   fmt("%s depth %d: reuse on another x differs from full(x) (max|diff| %.3g)", layout.name, d, diff2));
            printf("%-6s %5d %7.0f/%-8.0f %7.0f/%-8.0f %13.2fx %12.3g\n",
                   layout.name, d, st_ms, st_cpu, re_ms, re_cpu, st_cpu / std::max(re_cpu, 1e-3), diff2);

            // output block k keeps its own control on reuse evaluations
            if (d == 0 || d == 1 || d == max_depth) {
                auto stored_ctl = run(x, context, y, DeepCacheAction::STORE, d, 1, &fell_back, controls);
                auto reused_ctl = run(x, context, y, DeepCacheAction::REUSE, d, 1, &fell_back, controls);
                report(bit_equal(stored_ctl, full_ctl) && bit_equal(reused_ctl, full_ctl) && !fell_back,
                       fmt("%s depth %d: with ControlNet controls, store and reuse == full (memcmp)", layout.name, d));
            }
        }

        // slots never mix: store A (cond), store B (other x, other context), reuse A, reuse B
        for (int d : {1, max_depth}) {
            bool fell_back = false;
            runner.free_deepcache();
            run(x, context, y, DeepCacheAction::STORE, d, DEEPCACHE_SLOT_COND, &fell_back);
            run(x2, context2, y2, DeepCacheAction::STORE, d, DEEPCACHE_SLOT_UNCOND, &fell_back);
            auto reuse_a = run(x, context, y, DeepCacheAction::REUSE, d, DEEPCACHE_SLOT_COND, &fell_back);
            auto reuse_b = run(x2, context2, y2, DeepCacheAction::REUSE, d, DEEPCACHE_SLOT_UNCOND, &fell_back);
            report(bit_equal(reuse_a, full) && bit_equal(reuse_b, full2) && !fell_back,
                   fmt("%s depth %d: store A, store B, reuse A == full A and reuse B == full B", layout.name, d));
        }

        // fallbacks: never read a slot that holds nothing valid for the request
        {
            bool fell_back = false;
            runner.free_deepcache();
            auto out = run(x, context, y, DeepCacheAction::REUSE, 1, DEEPCACHE_SLOT_IMG_COND, &fell_back);
            report(fell_back && bit_equal(out, full), fmt("%s: reuse of an empty slot falls back to a full evaluation", layout.name));

            fell_back = false;
            out       = run(x, context, y, DeepCacheAction::REUSE, 1, DEEPCACHE_SLOT_IMG_COND, &fell_back);
            report(!fell_back && bit_equal(out, full), fmt("%s: ... which stored the slot for the next reuse", layout.name));

            fell_back = false;
            out       = run(x, context, y, DeepCacheAction::REUSE, 0, DEEPCACHE_SLOT_IMG_COND, &fell_back);
            report(fell_back && bit_equal(out, full), fmt("%s: reuse with another depth than stored falls back", layout.name));

            fell_back = false;
            out       = run(x_big, context, y, DeepCacheAction::REUSE, 0, DEEPCACHE_SLOT_IMG_COND, &fell_back);
            report(fell_back && bit_equal(out, full_big), fmt("%s: reuse with another latent size falls back", layout.name));

            fell_back = false;
            out       = run(x_big, context, y, DeepCacheAction::REUSE, 0, DEEPCACHE_SLOT_IMG_COND, &fell_back);
            report(!fell_back && bit_equal(out, full_big), fmt("%s: ... and the re-stored slot (new shape) is reused", layout.name));

            out = run(x, context, y, DeepCacheAction::STORE, max_depth + 1, 0, &fell_back);
            report(out.empty(), fmt("%s: invalid depth %d is an error, not a crash", layout.name, max_depth + 1));
        }

        runner.free_deepcache();
        runner.free_compute_buffer();
        runner.free_params_buffer();
        ggml_backend_free(backend);
    }

}  // namespace

int main(int argc, char** argv) {
    sd_set_log_callback(log_cb, nullptr);
    bool run_sd1  = true;
    bool run_tiny = true;
    bool run_sdxl = true;
    if (argc > 1) {  // optional: sd1, tiny or sdxl only
        std::string which = argv[1];
        run_sd1           = which == "sd1";
        run_tiny          = which == "tiny";
        run_sdxl          = which == "sdxl";
    }
    double t0 = now_ms();

    test_schedule();

    if (run_sd1) {
        Layout sd1{"SD1", VERSION_SD1, 768, 0, {1, 2, 4, 4}, 2, 320, false};
        test_unet(sd1, 8, 8);
    }
    if (run_tiny) {
        Layout tiny{"SD1tiny", VERSION_SD1_TINY_UNET, 768, 0, {1, 2, 4}, 1, 320, true};
        test_unet(tiny, 8, 8);
    }
    if (run_sdxl) {
        Layout sdxl{"SDXL", VERSION_SDXL, 2048, 2816, {1, 2, 4}, 2, 320, false};
        test_unet(sdxl, 8, 8);
    }

    printf("%s: %d passed, %d failed (%.1f s)\n",
           g_failures == 0 ? "PASS" : "FAIL",
           g_passes,
           g_failures,
           (now_ms() - t0) / 1000.0);
    return std::min(g_failures, 100);
}
