/* deepcache_probe: one txt2img generation through the engine's C API, with or without DeepCache,
 * so that perf can attribute time to (unstripped) engine and ggml symbols; every engine log line is
 * printed with a millisecond time stamp.
 *
 *   deepcache_probe MODEL SIZE STEPS CFG THREADS INTERVAL DEPTH   (INTERVAL 0: no cache)
 *
 * Built by benchmarks/probe/build.py against the static engine of benchmarks/build_engine_cli.py.
 */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "stable-diffusion.h"

static double now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static double start_ms;

static void on_log(enum sd_log_level_t level, const char* text, void* data) {
    (void)data;
    fprintf(stdout, "%10.1f %d %s", now_ms() - start_ms, (int)level, text);
}

int main(int argc, char** argv) {
    if (argc != 8) {
        fprintf(stderr, "usage: %s MODEL SIZE STEPS CFG THREADS INTERVAL DEPTH\n", argv[0]);
        return 2;
    }
    start_ms = now_ms();
    sd_set_log_callback(on_log, NULL);
    sd_ctx_params_t ctx_params;
    sd_ctx_params_init(&ctx_params);
    ctx_params.model_path = argv[1];
    ctx_params.n_threads = atoi(argv[5]);
    ctx_params.vae_decode_only = true;
    ctx_params.free_params_immediately = false;
    sd_ctx_t* ctx = new_sd_ctx(&ctx_params);
    if (ctx == NULL) {
        return 1;
    }
    sd_img_gen_params_t params;
    sd_img_gen_params_init(&params);
    params.prompt = "a photograph of an astronaut riding a horse";
    params.width = params.height = atoi(argv[2]);
    params.sample_params.sample_steps = atoi(argv[3]);
    params.sample_params.guidance.txt_cfg = (float)atof(argv[4]);
    params.sample_params.sample_method = EULER_SAMPLE_METHOD;
    params.seed = 42;
    params.batch_count = 1;
    if (atoi(argv[6]) > 0) {
        params.cache.mode = SD_CACHE_DEEPCACHE;
        params.cache.deepcache_interval = atoi(argv[6]);
        params.cache.deepcache_depth = atoi(argv[7]);
        params.cache.deepcache_start = 0;
        params.cache.deepcache_end = -1;
    }
    double t0 = now_ms();
    sd_image_t* images = generate_image(ctx, &params);
    printf("%10.1f generate_image returned after %.1f ms\n", now_ms() - start_ms, now_ms() - t0);
    if (images != NULL) {
        free(images[0].data);
        free(images);
    }
    free_sd_ctx(ctx);
    return images == NULL;
}
