/* The C API of the patched stable-diffusion.cpp that sdcpp binds (cffi cdef syntax).
 *
 * Kept in step with vendor/stable-diffusion.cpp/include/stable-diffusion.h plus patches/.
 * cffi builds the extension in API mode, so the C compiler checks every declaration here
 * against the real header: a struct whose fields drift fails the build (or the import),
 * never a call at run time. Enum values are left to the compiler ("...").
 */

enum rng_type_t {
    STD_DEFAULT_RNG,
    CUDA_RNG,
    CPU_RNG,
    RNG_TYPE_COUNT,
    ...
};

enum sample_method_t {
    EULER_SAMPLE_METHOD,
    EULER_A_SAMPLE_METHOD,
    HEUN_SAMPLE_METHOD,
    DPM2_SAMPLE_METHOD,
    DPMPP2S_A_SAMPLE_METHOD,
    DPMPP2M_SAMPLE_METHOD,
    DPMPP2Mv2_SAMPLE_METHOD,
    IPNDM_SAMPLE_METHOD,
    IPNDM_V_SAMPLE_METHOD,
    LCM_SAMPLE_METHOD,
    DDIM_TRAILING_SAMPLE_METHOD,
    TCD_SAMPLE_METHOD,
    RES_MULTISTEP_SAMPLE_METHOD,
    RES_2S_SAMPLE_METHOD,
    ER_SDE_SAMPLE_METHOD,
    SAMPLE_METHOD_COUNT,
    ...
};

enum scheduler_t {
    DISCRETE_SCHEDULER,
    KARRAS_SCHEDULER,
    EXPONENTIAL_SCHEDULER,
    AYS_SCHEDULER,
    GITS_SCHEDULER,
    SGM_UNIFORM_SCHEDULER,
    SIMPLE_SCHEDULER,
    SMOOTHSTEP_SCHEDULER,
    KL_OPTIMAL_SCHEDULER,
    LCM_SCHEDULER,
    BONG_TANGENT_SCHEDULER,
    SCHEDULER_COUNT,
    ...
};

enum prediction_t {
    EPS_PRED,
    V_PRED,
    EDM_V_PRED,
    FLOW_PRED,
    FLUX_FLOW_PRED,
    FLUX2_FLOW_PRED,
    PREDICTION_COUNT,
    ...
};

// same as enum ggml_type
enum sd_type_t {
    SD_TYPE_F32,
    SD_TYPE_F16,
    SD_TYPE_Q4_0,
    SD_TYPE_Q4_1,
    SD_TYPE_Q5_0,
    SD_TYPE_Q5_1,
    SD_TYPE_Q8_0,
    SD_TYPE_Q8_1,
    SD_TYPE_Q2_K,
    SD_TYPE_Q3_K,
    SD_TYPE_Q4_K,
    SD_TYPE_Q5_K,
    SD_TYPE_Q6_K,
    SD_TYPE_Q8_K,
    SD_TYPE_IQ2_XXS,
    SD_TYPE_IQ2_XS,
    SD_TYPE_IQ3_XXS,
    SD_TYPE_IQ1_S,
    SD_TYPE_IQ4_NL,
    SD_TYPE_IQ3_S,
    SD_TYPE_IQ2_S,
    SD_TYPE_IQ4_XS,
    SD_TYPE_I8,
    SD_TYPE_I16,
    SD_TYPE_I32,
    SD_TYPE_I64,
    SD_TYPE_F64,
    SD_TYPE_IQ1_M,
    SD_TYPE_BF16,
    SD_TYPE_TQ1_0,
    SD_TYPE_TQ2_0,
    SD_TYPE_MXFP4,
    SD_TYPE_NVFP4,
    SD_TYPE_COUNT,
    ...
};

enum sd_log_level_t {
    SD_LOG_DEBUG,
    SD_LOG_INFO,
    SD_LOG_WARN,
    SD_LOG_ERROR,
    ...
};

enum preview_t {
    PREVIEW_NONE,
    PREVIEW_PROJ,
    PREVIEW_TAE,
    PREVIEW_VAE,
    PREVIEW_COUNT,
    ...
};

enum lora_apply_mode_t {
    LORA_APPLY_AUTO,
    LORA_APPLY_IMMEDIATELY,
    LORA_APPLY_AT_RUNTIME,
    LORA_APPLY_MODE_COUNT,
    ...
};

typedef struct {
    bool enabled;
    int tile_size_x;
    int tile_size_y;
    float target_overlap;
    float rel_size_x;
    float rel_size_y;
} sd_tiling_params_t;

typedef struct {
    const char* name;
    const char* path;
} sd_embedding_t;

typedef struct {
    const char* model_path;
    const char* clip_l_path;
    const char* clip_g_path;
    const char* clip_vision_path;
    const char* t5xxl_path;
    const char* llm_path;
    const char* llm_vision_path;
    const char* diffusion_model_path;
    const char* high_noise_diffusion_model_path;
    const char* vae_path;
    const char* taesd_path;
    const char* control_net_path;
    const sd_embedding_t* embeddings;
    uint32_t embedding_count;
    const char* photo_maker_path;
    const char* tensor_type_rules;
    bool vae_decode_only;
    bool free_params_immediately;
    int n_threads;
    enum sd_type_t wtype;
    enum rng_type_t rng_type;
    enum rng_type_t sampler_rng_type;
    enum prediction_t prediction;
    enum lora_apply_mode_t lora_apply_mode;
    bool offload_params_to_cpu;
    bool enable_mmap;
    bool keep_clip_on_cpu;
    bool keep_control_net_on_cpu;
    bool keep_vae_on_cpu;
    bool flash_attn;
    bool diffusion_flash_attn;
    bool tae_preview_only;
    bool diffusion_conv_direct;
    bool vae_conv_direct;
    bool circular_x;
    bool circular_y;
    bool force_sdxl_vae_conv_scale;
    bool chroma_use_dit_mask;
    bool chroma_use_t5_mask;
    int chroma_t5_mask_pad;
    bool qwen_image_zero_cond_t;
    float max_vram;
    bool weight_repack;
} sd_ctx_params_t;

typedef struct {
    uint32_t width;
    uint32_t height;
    uint32_t channel;
    uint8_t* data;
} sd_image_t;

typedef struct {
    int* layers;
    size_t layer_count;
    float layer_start;
    float layer_end;
    float scale;
} sd_slg_params_t;

typedef struct {
    float txt_cfg;
    float img_cfg;
    float distilled_guidance;
    sd_slg_params_t slg;
} sd_guidance_params_t;

typedef struct {
    sd_guidance_params_t guidance;
    enum scheduler_t scheduler;
    enum sample_method_t sample_method;
    int sample_steps;
    float eta;
    int shifted_timestep;
    float* custom_sigmas;
    int custom_sigmas_count;
    float flow_shift;
} sd_sample_params_t;

typedef struct {
    sd_image_t* id_images;
    int id_images_count;
    const char* id_embed_path;
    float style_strength;
} sd_pm_params_t;  // photo maker

enum sd_cache_mode_t {
    SD_CACHE_DISABLED,
    SD_CACHE_EASYCACHE,
    SD_CACHE_UCACHE,
    SD_CACHE_DBCACHE,
    SD_CACHE_TAYLORSEER,
    SD_CACHE_CACHE_DIT,
    SD_CACHE_SPECTRUM,
    SD_CACHE_DEEPCACHE,
    ...
};

enum sd_deepcache_schedule_t {
    SD_DEEPCACHE_SCHEDULE_UNIFORM,
    SD_DEEPCACHE_SCHEDULE_QUADRATIC,
    ...
};

typedef struct {
    enum sd_cache_mode_t mode;
    float reuse_threshold;
    float start_percent;
    float end_percent;
    float error_decay_rate;
    bool use_relative_threshold;
    bool reset_error_on_compute;
    int Fn_compute_blocks;
    int Bn_compute_blocks;
    float residual_diff_threshold;
    int max_warmup_steps;
    int max_cached_steps;
    int max_continuous_cached_steps;
    int taylorseer_n_derivatives;
    int taylorseer_skip_interval;
    const char* scm_mask;
    bool scm_policy_dynamic;
    float spectrum_w;
    int spectrum_m;
    float spectrum_lam;
    int spectrum_window_size;
    float spectrum_flex_window;
    int spectrum_warmup_steps;
    float spectrum_stop_percent;
    int deepcache_interval;
    int deepcache_depth;
    int deepcache_start;
    int deepcache_end;
    enum sd_deepcache_schedule_t deepcache_schedule;
    int deepcache_center;
    double deepcache_power;
    bool deepcache_with_ucache;
} sd_cache_params_t;

typedef struct {
    bool is_high_noise;
    float multiplier;
    const char* path;
} sd_lora_t;

enum sd_hires_upscaler_t {
    SD_HIRES_UPSCALER_NONE,
    SD_HIRES_UPSCALER_LATENT,
    SD_HIRES_UPSCALER_LATENT_NEAREST,
    SD_HIRES_UPSCALER_LATENT_NEAREST_EXACT,
    SD_HIRES_UPSCALER_LATENT_ANTIALIASED,
    SD_HIRES_UPSCALER_LATENT_BICUBIC,
    SD_HIRES_UPSCALER_LATENT_BICUBIC_ANTIALIASED,
    SD_HIRES_UPSCALER_LANCZOS,
    SD_HIRES_UPSCALER_NEAREST,
    SD_HIRES_UPSCALER_MODEL,
    SD_HIRES_UPSCALER_COUNT,
    ...
};

typedef struct {
    bool enabled;
    enum sd_hires_upscaler_t upscaler;
    const char* model_path;
    float scale;
    int target_width;
    int target_height;
    int steps;
    float denoising_strength;
    int upscale_tile_size;
} sd_hires_params_t;

typedef struct {
    const sd_lora_t* loras;
    uint32_t lora_count;
    const char* prompt;
    const char* negative_prompt;
    int clip_skip;
    sd_image_t init_image;
    sd_image_t* ref_images;
    int ref_images_count;
    bool auto_resize_ref_image;
    bool increase_ref_index;
    sd_image_t mask_image;
    int width;
    int height;
    sd_sample_params_t sample_params;
    float strength;
    int64_t seed;
    int batch_count;
    sd_image_t control_image;
    float control_strength;
    sd_pm_params_t pm_params;
    sd_tiling_params_t vae_tiling_params;
    sd_cache_params_t cache;
    sd_hires_params_t hires;
} sd_img_gen_params_t;

typedef struct {
    const sd_lora_t* loras;
    uint32_t lora_count;
    const char* prompt;
    const char* negative_prompt;
    int clip_skip;
    sd_image_t init_image;
    sd_image_t end_image;
    sd_image_t* control_frames;
    int control_frames_size;
    int width;
    int height;
    sd_sample_params_t sample_params;
    sd_sample_params_t high_noise_sample_params;
    float moe_boundary;
    float strength;
    int64_t seed;
    int video_frames;
    float vace_strength;
    sd_tiling_params_t vae_tiling_params;
    sd_cache_params_t cache;
} sd_vid_gen_params_t;

typedef struct sd_ctx_t sd_ctx_t;

typedef void (*sd_log_cb_t)(enum sd_log_level_t level, const char* text, void* data);
typedef void (*sd_progress_cb_t)(int step, int steps, float time, void* data);
typedef void (*sd_preview_cb_t)(int step, int frame_count, sd_image_t* frames, bool is_noisy, void* data);

void sd_set_log_callback(sd_log_cb_t sd_log_cb, void* data);
void sd_set_progress_callback(sd_progress_cb_t cb, void* data);
void sd_set_preview_callback(sd_preview_cb_t cb, enum preview_t mode, int interval, bool denoised, bool noisy, void* data);
int32_t sd_get_num_physical_cores();
const char* sd_get_system_info();
bool sd_ctx_supports_image_generation(const sd_ctx_t* sd_ctx);
bool sd_ctx_supports_video_generation(const sd_ctx_t* sd_ctx);

const char* sd_type_name(enum sd_type_t type);
enum sd_type_t str_to_sd_type(const char* str);
const char* sd_rng_type_name(enum rng_type_t rng_type);
enum rng_type_t str_to_rng_type(const char* str);
const char* sd_sample_method_name(enum sample_method_t sample_method);
enum sample_method_t str_to_sample_method(const char* str);
const char* sd_scheduler_name(enum scheduler_t scheduler);
enum scheduler_t str_to_scheduler(const char* str);
const char* sd_prediction_name(enum prediction_t prediction);
enum prediction_t str_to_prediction(const char* str);
const char* sd_preview_name(enum preview_t preview);
enum preview_t str_to_preview(const char* str);
const char* sd_lora_apply_mode_name(enum lora_apply_mode_t mode);
enum lora_apply_mode_t str_to_lora_apply_mode(const char* str);
const char* sd_hires_upscaler_name(enum sd_hires_upscaler_t upscaler);
enum sd_hires_upscaler_t str_to_sd_hires_upscaler(const char* str);

void sd_cache_params_init(sd_cache_params_t* cache_params);
void sd_hires_params_init(sd_hires_params_t* hires_params);

void sd_ctx_params_init(sd_ctx_params_t* sd_ctx_params);
char* sd_ctx_params_to_str(const sd_ctx_params_t* sd_ctx_params);

sd_ctx_t* new_sd_ctx(const sd_ctx_params_t* sd_ctx_params);
void free_sd_ctx(sd_ctx_t* sd_ctx);

void sd_sample_params_init(sd_sample_params_t* sample_params);
char* sd_sample_params_to_str(const sd_sample_params_t* sample_params);

enum sample_method_t sd_get_default_sample_method(const sd_ctx_t* sd_ctx);
enum scheduler_t sd_get_default_scheduler(const sd_ctx_t* sd_ctx, enum sample_method_t sample_method);

void sd_img_gen_params_init(sd_img_gen_params_t* sd_img_gen_params);
char* sd_img_gen_params_to_str(const sd_img_gen_params_t* sd_img_gen_params);
sd_image_t* generate_image(sd_ctx_t* sd_ctx, const sd_img_gen_params_t* sd_img_gen_params);
// Ask a running generate_image/generate_video on sd_ctx to stop: sampling stops before its
// next model evaluation (and before the next image of a batch) and the call returns NULL.
// Safe to call from any thread; the flag is cleared when the next generation starts.
void sd_cancel_generation(sd_ctx_t* sd_ctx);

void sd_vid_gen_params_init(sd_vid_gen_params_t* sd_vid_gen_params);
sd_image_t* generate_video(sd_ctx_t* sd_ctx, const sd_vid_gen_params_t* sd_vid_gen_params, int* num_frames_out);

typedef struct {
    int full_evaluations;
    int reused_evaluations;
} sd_cache_stats_t;

int sd_deepcache_max_depth(const sd_ctx_t* sd_ctx);
void sd_get_cache_stats(const sd_ctx_t* sd_ctx, sd_cache_stats_t* stats);
int sd_deepcache_full_steps(int window, int interval, enum sd_deepcache_schedule_t schedule, int center,
                            double power, int* full_out, int capacity);
int sd_get_deepcache_full_evaluations(const sd_ctx_t* sd_ctx, int* full_out, int capacity);

typedef struct upscaler_ctx_t upscaler_ctx_t;

upscaler_ctx_t* new_upscaler_ctx(const char* esrgan_path,
                                        bool offload_params_to_cpu,
                                        bool direct,
                                        int n_threads,
                                        int tile_size);
void free_upscaler_ctx(upscaler_ctx_t* upscaler_ctx);

sd_image_t upscale(upscaler_ctx_t* upscaler_ctx,
                          sd_image_t input_image,
                          uint32_t upscale_factor);

int get_upscale_factor(upscaler_ctx_t* upscaler_ctx);

bool convert(const char* input_path,
                    const char* vae_path,
                    const char* output_path,
                    enum sd_type_t output_type,
                    const char* tensor_type_rules,
                    bool convert_name);

bool preprocess_canny(sd_image_t image,
                             float high_threshold,
                             float low_threshold,
                             float weak,
                             float strong,
                             bool inverse);

const char* sd_commit(void);
const char* sd_version(void);

/* libc: images returned by the engine are malloc'ed and freed by the caller. */
void free(void* ptr);

/* Build information compiled into the extension (see _build_ffi.py). */
const char* sdcpp_patch_series_hash(void);
const char* sdcpp_package_version(void);
const char* sdcpp_backend(void);
const char* sdcpp_cpu_features(void);

/* Trampolines into Python (sdcpp._callbacks). */
extern "Python" void _sdcpp_on_log(enum sd_log_level_t level, const char* text, void* data);
extern "Python" void _sdcpp_on_progress(int step, int steps, float time, void* data);
extern "Python" void _sdcpp_on_preview(int step, int frame_count, sd_image_t* frames, bool is_noisy, void* data);
