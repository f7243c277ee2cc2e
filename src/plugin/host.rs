//! `PluginHost`: the engine, the linker and the loaded plugins, shared by all
//! sessions.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError, RwLock};

use regex::Regex;
use wasmtime::component::{Component, Linker};
use wasmtime::{Config, Engine, Store};

use super::compile::{compile, sha256_hex};
use super::decision::compile_full_match;
use super::epoch::{Ticker, deadline_ticks};
use super::error::PluginError;
use super::limits::HostLimits;
use super::manifest::Manifest;
use super::session::{Live, PluginSession, classify};
use super::state::StoreState;
use super::wit::{self, ApiVersion, StrategyPre};

/// Where a plugin came from, for messages.
#[derive(Debug, Clone)]
enum Origin {
    Builtin,
    Memory,
    Dir(PathBuf),
}

/// A plugin ready to instantiate: compiled, linked, its input patterns
/// compiled too.
pub(super) struct Ready {
    pub pre: StrategyPre,
    pub manifest: Arc<Manifest>,
    pub input_patterns: Arc<[Regex]>,
}

struct Entry {
    manifest: Arc<Manifest>,
    origin: Origin,
    wasm: Arc<[u8]>,
    /// Filled on first use for built-ins (so a server start compiles nothing
    /// it does not need), right away for plugins loaded from a folder (so a
    /// bad component is refused at load).
    ready: Mutex<Option<Arc<Ready>>>,
}

struct Inner {
    engine: Engine,
    linker: Linker<StoreState>,
    limits: HostLimits,
    cache_dir: Option<PathBuf>,
    plugins: RwLock<HashMap<String, Arc<Entry>>>,
    ticker: Arc<Ticker>,
}

/// Loads, compiles and instantiates plugins. Cheap to clone; share one per
/// server.
#[derive(Clone)]
pub struct PluginHost {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for PluginHost {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PluginHost")
            .field("plugins", &self.ids())
            .finish_non_exhaustive()
    }
}

fn engine_config(limits: &HostLimits) -> Config {
    let mut config = Config::new();
    // Deadlines: the ticker advances the epoch; a call past its deadline traps.
    config.epoch_interruption(true);
    config.max_wasm_stack(usize::try_from(limits.max_stack_bytes).unwrap_or(usize::MAX));
    config.wasm_component_model(true);
    config
}

impl PluginHost {
    /// A host with no plugins and no on-disk cache.
    pub fn new(limits: HostLimits) -> Result<PluginHost, PluginError> {
        PluginHost::with_cache(limits, None)
    }

    /// A host that keeps compiled plugins in `cache_dir` (created on demand),
    /// keyed by the wasm's sha256 and the engine's settings and version.
    pub fn with_cache(
        limits: HostLimits,
        cache_dir: Option<PathBuf>,
    ) -> Result<PluginHost, PluginError> {
        limits.check()?;
        let engine = Engine::new(&engine_config(&limits))
            .map_err(|e| PluginError::HostConfig(format!("{e:#}")))?;
        let mut linker = Linker::new(&engine);
        wit::add_to_linker(&mut linker).map_err(|e| PluginError::HostConfig(format!("{e:#}")))?;
        let ticker = Ticker::start(engine.clone())
            .map_err(|e| PluginError::HostConfig(format!("cannot start the epoch thread: {e}")))?;
        Ok(PluginHost {
            inner: Arc::new(Inner {
                engine,
                linker,
                limits,
                cache_dir,
                plugins: RwLock::new(HashMap::new()),
                ticker: Arc::new(ticker),
            }),
        })
    }

    /// Default limits, the built-in plugins, and the user's cache directory.
    pub fn with_builtins() -> Result<PluginHost, PluginError> {
        let cache = dirs::cache_dir().map(|d| d.join("repl-mcp").join("plugins"));
        let host = PluginHost::with_cache(HostLimits::default(), cache)?;
        host.add_builtins()?;
        Ok(host)
    }

    /// Registers the embedded plugins (compiled on first use).
    pub fn add_builtins(&self) -> Result<(), PluginError> {
        for b in super::builtin::BUILTINS {
            self.add_builtin(b)?;
        }
        Ok(())
    }

    pub fn limits(&self) -> &HostLimits {
        &self.inner.limits
    }

    fn add_builtin(&self, b: &super::builtin::Builtin) -> Result<(), PluginError> {
        let file = PathBuf::from(format!("builtin:{}/plugin.toml", b.id));
        let manifest = Manifest::parse(b.manifest, &file, &self.inner.limits)?;
        check_sha(&manifest, b.wasm, &file)?;
        self.insert(manifest, Origin::Builtin, Arc::from(b.wasm), false)
    }

    /// Reads a manifest and its wasm from `dir` without loading them: the
    /// check behind `preset install` and `validate`. Limits are checked
    /// against the default host maxima.
    pub fn validate_dir(dir: &Path) -> Result<Manifest, PluginError> {
        let (manifest, _) = read_plugin_dir(dir, &HostLimits::default())?;
        Ok(manifest)
    }

    /// Loads the plugin in `dir` (a `plugin.toml` and its `.wasm`), compiling
    /// it now so that a bad component is refused here, not at first use.
    pub fn load_dir(&self, dir: &Path) -> Result<String, PluginError> {
        let (manifest, wasm) = read_plugin_dir(dir, &self.inner.limits)?;
        let id = manifest.id.clone();
        self.insert(
            manifest,
            Origin::Dir(dir.to_path_buf()),
            Arc::from(wasm),
            true,
        )?;
        Ok(id)
    }

    /// Loads a plugin from memory; `wasm` may be WAT text when wasmtime's
    /// `wat` feature is on (tests use that).
    pub fn load_bytes(&self, manifest_toml: &str, wasm: &[u8]) -> Result<String, PluginError> {
        let file = PathBuf::from("<memory>/plugin.toml");
        let manifest = Manifest::parse(manifest_toml, &file, &self.inner.limits)?;
        check_sha(&manifest, wasm, &file)?;
        let id = manifest.id.clone();
        self.insert(manifest, Origin::Memory, Arc::from(wasm), true)?;
        Ok(id)
    }

    fn insert(
        &self,
        manifest: Manifest,
        origin: Origin,
        wasm: Arc<[u8]>,
        eager: bool,
    ) -> Result<(), PluginError> {
        let id = manifest.id.clone();
        let entry = Arc::new(Entry {
            manifest: Arc::new(manifest),
            origin,
            wasm,
            ready: Mutex::new(None),
        });
        if self
            .inner
            .plugins
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .contains_key(&id)
        {
            return Err(PluginError::DuplicatePlugin(id));
        }
        if eager {
            self.ready(&entry)?;
        }
        let mut plugins = self
            .inner
            .plugins
            .write()
            .unwrap_or_else(PoisonError::into_inner);
        if plugins.contains_key(&id) {
            return Err(PluginError::DuplicatePlugin(id));
        }
        plugins.insert(id, entry);
        Ok(())
    }

    /// The ids of the loaded plugins, sorted.
    pub fn ids(&self) -> Vec<String> {
        let mut ids: Vec<String> = self
            .inner
            .plugins
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .keys()
            .cloned()
            .collect();
        ids.sort();
        ids
    }

    /// The manifest of a loaded plugin.
    pub fn manifest(&self, id: &str) -> Option<Arc<Manifest>> {
        self.entry(id).ok().map(|e| Arc::clone(&e.manifest))
    }

    fn entry(&self, id: &str) -> Result<Arc<Entry>, PluginError> {
        // Presets name built-ins as `builtin:<id>`.
        let key = id.strip_prefix("builtin:").unwrap_or(id);
        self.inner
            .plugins
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .get(key)
            .cloned()
            .ok_or_else(|| PluginError::UnknownPlugin(id.to_string()))
    }

    /// Compiles and links `entry` once; later calls reuse the result.
    fn ready(&self, entry: &Entry) -> Result<Arc<Ready>, PluginError> {
        let mut slot = entry.ready.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(r) = &*slot {
            return Ok(Arc::clone(r));
        }
        let m = &entry.manifest;
        let plugin = m.id.clone();
        let started = std::time::Instant::now();
        let component = compile(
            &self.inner.engine,
            &entry.wasm,
            &m.sha256,
            self.inner.cache_dir.as_deref(),
        )
        .map_err(|e| PluginError::Compile {
            plugin: plugin.clone(),
            message: format!("{e:#}"),
        })?;
        // The manifest parser accepts only versions this host serves.
        let api = ApiVersion::parse(&m.api).ok_or_else(|| PluginError::Link {
            plugin: plugin.clone(),
            message: format!("unsupported plugin API `{}`", m.api),
        })?;
        check_imports(&self.inner.engine, &component, &plugin, api)?;
        let link_err = |e: wasmtime::Error| PluginError::Link {
            plugin: plugin.clone(),
            message: format!("{e:#}"),
        };
        let pre = self
            .inner
            .linker
            .instantiate_pre(&component)
            .map_err(link_err)?;
        let pre = StrategyPre::new(api, pre).map_err(|e| PluginError::Link {
            plugin: plugin.clone(),
            message: format!(
                "{e:#} (is it built against API {} as its manifest says?)",
                m.api
            ),
        })?;
        let input_patterns = m
            .capabilities
            .input_patterns
            .iter()
            .map(|p| compile_full_match(p))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| PluginError::Link {
                plugin: plugin.clone(),
                message: format!("input pattern: {e}"),
            })?;
        let origin = match &entry.origin {
            Origin::Builtin => "builtin".to_string(),
            Origin::Memory => "memory".to_string(),
            Origin::Dir(d) => d.display().to_string(),
        };
        tracing::debug!(
            plugin,
            origin,
            elapsed_ms = started.elapsed().as_millis() as u64,
            "plugin ready"
        );
        let ready = Arc::new(Ready {
            pre,
            manifest: Arc::clone(m),
            input_patterns: input_patterns.into(),
        });
        *slot = Some(Arc::clone(&ready));
        Ok(ready)
    }

    /// A fresh instance of plugin `id` for one session: its own store, memory
    /// and limits, initialised with the manifest's default settings
    /// overridden by `settings`.
    pub fn instantiate(
        &self,
        id: &str,
        settings: &BTreeMap<String, String>,
    ) -> Result<PluginSession, PluginError> {
        let entry = self.entry(id)?;
        let ready = self.ready(&entry)?;
        let m = &ready.manifest;
        let plugin: Arc<str> = Arc::from(m.id.as_str());
        let mut store = Store::new(
            &self.inner.engine,
            StoreState::new(Arc::clone(&plugin), m.limits.memory_bytes),
        );
        store.limiter(|s| s);
        store.epoch_deadline_trap();

        let mut merged = m.settings.clone();
        merged.extend(settings.iter().map(|(k, v)| (k.clone(), v.clone())));
        let pairs: Vec<(&str, &str)> = merged
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();

        let ticks = deadline_ticks(m.limits.deadline_ms);
        store.set_epoch_deadline(ticks);
        let guard = self.inner.ticker.enter();
        let bindings = match ready.pre.instantiate(&mut store) {
            Ok(b) => b,
            Err(e) => {
                drop(guard);
                return Err(match classify(&m.id, m.limits, "instantiate", e, &store) {
                    PluginError::Malformed { message, .. } => PluginError::Instantiate {
                        plugin: m.id.clone(),
                        message,
                    },
                    other => other,
                });
            }
        };
        store.data_mut().begin_call();
        store.set_epoch_deadline(ticks);
        let init = bindings.init(&mut store, &pairs);
        drop(guard);
        match init {
            Ok(Ok(())) => {}
            Ok(Err(message)) => {
                return Err(PluginError::Init {
                    plugin: m.id.clone(),
                    message: message.chars().take(1024).collect(),
                });
            }
            Err(e) => return Err(classify(&m.id, m.limits, "init", e, &store)),
        }
        Ok(PluginSession::new(
            Live { store, bindings },
            Arc::clone(&ready),
            Arc::clone(&self.inner.ticker),
        ))
    }

    /// The engine, for benchmarks and tools that precompile.
    pub fn engine(&self) -> &Engine {
        &self.inner.engine
    }
}

/// Reads `dir/plugin.toml` and the wasm it names, checking the digest.
fn read_plugin_dir(dir: &Path, limits: &HostLimits) -> Result<(Manifest, Vec<u8>), PluginError> {
    let (manifest, manifest_path) = Manifest::read_dir(dir, limits)?;
    let wasm_path = dir.join(&manifest.wasm);
    let wasm = std::fs::read(&wasm_path).map_err(|source| PluginError::Io {
        path: wasm_path.clone(),
        source,
    })?;
    check_sha(&manifest, &wasm, &manifest_path)?;
    Ok((manifest, wasm))
}

fn check_sha(manifest: &Manifest, wasm: &[u8], manifest_path: &Path) -> Result<(), PluginError> {
    let actual = sha256_hex(wasm);
    if actual != manifest.sha256 {
        return Err(PluginError::HashMismatch {
            manifest: manifest_path.to_path_buf(),
            wasm: manifest_path.with_file_name(&manifest.wasm),
            expected: manifest.sha256.clone(),
            actual,
        });
    }
    Ok(())
}

/// Refuses a component that imports anything but its version's host
/// interface: WASI or any other import would be a way out of the sandbox, or
/// at best a link error at instantiation with a less helpful message.
fn check_imports(
    engine: &Engine,
    component: &Component,
    plugin: &str,
    api: ApiVersion,
) -> Result<(), PluginError> {
    let allowed = api.host_interface();
    let ty = component.component_type();
    for (name, _) in ty.imports(engine) {
        if name != allowed {
            return Err(PluginError::ForeignImport {
                plugin: plugin.to_string(),
                import: name.to_string(),
                allowed,
            });
        }
    }
    Ok(())
}
