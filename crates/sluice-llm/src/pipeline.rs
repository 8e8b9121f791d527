//! Building the mistral.rs engine for a local GGUF file with an explicit activation dtype.
//!
//! mistral.rs 0.8.1's `GgufModelBuilder::build` always passes `ModelDType::Auto`, which on a
//! CPU tries BF16, then F16 (candle 0.10 rejects BF16 matmul there), so q/k/v, RoPE, the KV
//! cache and attention convert between f16 and f32 element by element. The loader builder
//! and `build_model_from_pipeline` are public, so this builds the same pipeline with F32 on a
//! CPU (the weights stay quantised; only activations change) and `Auto` on a GPU. The few
//! lines below copy mistral.rs's private `build_gguf_pipeline` (model_builder_trait.rs) with
//! the dtype as a parameter rather than patching the crate.

use std::collections::HashMap;

use mistralrs::Model;
use mistralrs::core::{
    AddModelConfig, AutoDeviceMapParams, DefaultSchedulerMethod, DeviceMapSetting, EngineConfig,
    GGUFLoaderBuilder, GGUFSpecificConfig, ModelDType, SchedulerConfig, TokenSource,
};
use mistralrs::model_builder_trait::build_model_from_pipeline;

/// Activations in f32 on a CPU, the engine's own choice on a GPU.
pub(crate) fn dtype_for(device: &mistralrs::Device) -> ModelDType {
    if device.is_cpu() {
        ModelDType::F32
    } else {
        ModelDType::Auto
    }
}

/// Loads `dir/file` (an absolute, existing folder: the hub is never asked) and starts the
/// engine. `max_num_seqs` is the engine's batch size. Prefix caching is off (see the caller).
pub(crate) async fn build(
    dir: String,
    file: String,
    max_num_seqs: usize,
    force_cpu: bool,
) -> Result<(Model, ModelDType), String> {
    let loader = GGUFLoaderBuilder::new(
        None,
        None,
        dir,
        vec![file],
        GGUFSpecificConfig { topology: None },
        false,
        None,
    )
    .build();
    let device = mistralrs::best_device(force_cpu).map_err(|e| e.to_string())?;
    let dtype = dtype_for(&device);
    let pipeline = loader
        .load_model_from_hf(
            None,
            TokenSource::None,
            &dtype,
            &device,
            true,
            DeviceMapSetting::Auto(AutoDeviceMapParams::default_text()),
            None,
            None,
        )
        .map_err(|e| format!("{e:#}"))?;
    let scheduler = SchedulerConfig::DefaultScheduler {
        method: DefaultSchedulerMethod::Fixed(
            max_num_seqs
                .max(1)
                .try_into()
                .map_err(|_| "max_num_seqs is 0".to_owned())?,
        ),
    };
    let engine = EngineConfig {
        no_kv_cache: false,
        no_prefix_cache: true,
        prefix_cache_n: 0,
        disable_eos_stop: false,
        throughput_logging_enabled: false,
        search_embedding_model: None,
        search_callback: None,
        tool_callbacks: HashMap::new(),
        tool_callbacks_with_tools: HashMap::new(),
    };
    let config = AddModelConfig {
        engine_config: engine,
        mcp_client_config: None,
        loader_config: None,
    };
    Ok((
        build_model_from_pipeline(pipeline, scheduler, config).await,
        dtype,
    ))
}
