//! The engine all detectors share: compiler settings, the pooling
//! allocator, the epoch ticker that enforces call deadlines, and the cache
//! of compiled components. Each detector gets its own linker
//! ([`crate::linking`]), built from what it was granted.

use std::hash::{Hash, Hasher};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use serde::Deserialize;
use wasmtime::component::Component;
use wasmtime::{Config, Engine, InstanceAllocationStrategy, PoolingAllocationConfig};

use crate::cache::CompiledCache;
use crate::error::{LoadError, LoadFailure};
use crate::host::HostServices;
use crate::plugin::{Plugin, PluginSpec};

/// Engine-wide settings (`[plugins.engine]` in the agent configuration).
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct EngineConfig {
    /// Pre-allocate instance slots (pooling allocator): instantiation and
    /// reloads take microseconds instead of mmap calls (default true).
    pub pooling: bool,
    /// Most detector instances alive at once, counting both versions of a
    /// detector during a hot swap (default 256). Only used with pooling.
    pub max_instances: u32,
    /// Largest memory any one detector may have, in bytes (default 256 MiB).
    /// Per-detector caps (`PluginLimits::memory_bytes`) sit below this.
    pub max_memory_bytes: usize,
    /// How often the epoch advances, in milliseconds (default 5): the
    /// resolution of call deadlines.
    pub epoch_tick_ms: u64,
    /// Directory for compiled components, keyed by the component's sha256
    /// and this engine's compatibility hash (default `/var/cache/harrier`;
    /// per-user fallbacks when it is not usable, see [`crate::cache`]).
    pub cache_dir: Option<PathBuf>,
    /// Bound of the cache directory in bytes, least recently used entries
    /// evicted first (default 1 GiB); 0 switches the cache off.
    pub cache_max_bytes: u64,
}

impl Default for EngineConfig {
    fn default() -> Self {
        Self {
            pooling: true,
            max_instances: 256,
            max_memory_bytes: 256 << 20,
            epoch_tick_ms: 5,
            cache_dir: Some(PathBuf::from(crate::cache::DEFAULT_CACHE_DIR)),
            cache_max_bytes: 1 << 30,
        }
    }
}

impl EngineConfig {
    /// Check every setting is usable.
    pub fn validate(&self) -> Result<(), String> {
        use crate::limits::check_range;
        check_range(
            "[plugins.engine] max_instances",
            self.max_instances,
            1..=10_000,
        )?;
        check_range(
            "[plugins.engine] max_memory_bytes",
            self.max_memory_bytes,
            (1 << 20)..=(4 << 30),
        )?;
        check_range(
            "[plugins.engine] epoch_tick_ms",
            self.epoch_tick_ms,
            1..=1_000,
        )
    }
}

/// Compiles, links and instantiates detectors. Cheap to share by reference.
pub struct PluginEngine {
    engine: Engine,
    config: EngineConfig,
    cache: Option<CompiledCache>,
}

impl PluginEngine {
    /// Build the engine and start its epoch ticker thread (which stops by
    /// itself when the engine is dropped).
    pub fn new(config: &EngineConfig) -> anyhow::Result<Self> {
        let mut wasm = Config::new();
        wasm.wasm_component_model(true).epoch_interruption(true);
        if config.pooling {
            let mut pool = PoolingAllocationConfig::default();
            let n = config.max_instances.max(1);
            pool.total_component_instances(n)
                .total_core_instances(n * 8)
                .total_memories(n * 4)
                .total_tables(n * 4)
                .max_core_instances_per_component(32)
                .max_memories_per_component(8)
                .max_tables_per_component(8)
                .max_memory_size(config.max_memory_bytes)
                .max_component_instance_size(1 << 20)
                .max_core_instance_size(4 << 20);
            wasm.allocation_strategy(InstanceAllocationStrategy::Pooling(pool));
        }
        let engine = Engine::new(&wasm)?;

        let mut hasher = std::collections::hash_map::DefaultHasher::new();
        engine.precompile_compatibility_hash().hash(&mut hasher);
        let compat_tag = format!("{:016x}", hasher.finish());
        let cache = match &config.cache_dir {
            Some(dir) if config.cache_max_bytes > 0 => {
                CompiledCache::open(dir, config.cache_max_bytes, compat_tag)
            }
            _ => None,
        };

        spawn_epoch_ticker(&engine, Duration::from_millis(config.epoch_tick_ms.max(1)));
        Ok(Self {
            engine,
            config: config.clone(),
            cache,
        })
    }

    /// The underlying wasmtime engine.
    pub fn engine(&self) -> &Engine {
        &self.engine
    }

    /// Epoch ticks that make up `deadline` (at least one).
    pub(crate) fn ticks_for(&self, deadline: Duration) -> u64 {
        let tick = self.config.epoch_tick_ms.max(1) as u128;
        (deadline.as_millis().div_ceil(tick) as u64).max(1)
    }

    /// Compile and start a detector: compile (or take from the cache),
    /// check it implements the world, instantiate, read its metadata, run
    /// `init` with its configuration and its self-test.
    pub fn load(
        &self,
        spec: PluginSpec,
        services: Arc<dyn HostServices>,
    ) -> Result<Plugin, LoadError> {
        let component = self.compile(&spec.wasm).map_err(|reason| LoadError {
            origin: spec.origin.clone(),
            reason,
        })?;
        Plugin::start(self, spec, component, services)
    }

    /// Compile component bytes, through the cache when one is usable.
    pub fn compile(&self, wasm: &[u8]) -> Result<Component, LoadFailure> {
        let Some(cache) = &self.cache else {
            return Component::new(&self.engine, wasm).map_err(not_a_component);
        };
        if let Some(component) = cache.get(&self.engine, wasm) {
            return Ok(component);
        }
        let component = Component::new(&self.engine, wasm).map_err(not_a_component)?;
        cache.put(wasm, &component);
        Ok(component)
    }

    /// The compiled-component cache directory in use, if any.
    pub fn cache_dir(&self) -> Option<&Path> {
        self.cache.as_ref().map(CompiledCache::dir)
    }
}

fn not_a_component(e: wasmtime::Error) -> LoadFailure {
    LoadFailure::NotAComponent(format!("{e:#}"))
}

/// Advance the engine's epoch every `tick` until the engine is gone.
fn spawn_epoch_ticker(engine: &Engine, tick: Duration) {
    let weak = engine.weak();
    std::thread::Builder::new()
        .name("harrier-epoch".into())
        .spawn(move || {
            while let Some(engine) = weak.upgrade() {
                engine.increment_epoch();
                drop(engine);
                std::thread::sleep(tick);
            }
        })
        .expect("spawn epoch ticker thread");
}
