//! The linker of one detector: the `harrier:detector/host` functions, the
//! WASI interfaces its [`Permissions`] grant (see [`crate::permissions`]),
//! and, for every other import of its component, a function that traps
//! with a [`Denied`] error naming the import and what it needs.
//!
//! Nothing granted can block past the call's deadline: the monotonic
//! clock's `subscribe-*` (how `sleep` is built) gives a pollable only for a
//! wait that ends within the deadline of the call that made it, and
//! interrupts the call at once (a deadline error) for one that would not;
//! stdin is closed and stdout and stderr are always ready.

use std::time::{Duration, Instant};

use wasmtime::component::types::ComponentItem;
use wasmtime::component::{Component, HasData, HasSelf, Linker, Resource, ResourceType};
use wasmtime::{Engine, Trap};
use wasmtime_wasi::clocks::{WasiClocksCtxView, WasiClocksView};
use wasmtime_wasi::p2::DynPollable;
use wasmtime_wasi::p2::bindings::{cli, clocks, random, sync};
use wasmtime_wasi::{WasiView, cli::WasiCli, random::WasiRandom};

use crate::host::PluginState;
use crate::permissions::{Permission, Permissions, Requirement};

/// A detector called an import it was not granted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("called `{import}`, which needs {needs}{hint}", hint = grant_hint(*needs))]
pub struct Denied {
    /// `interface#function`.
    pub import: String,
    /// What would have allowed it.
    pub needs: Requirement,
}

fn grant_hint(needs: Requirement) -> &'static str {
    match needs {
        Requirement::Permission(_) | Requirement::AnyWasi => {
            " (not granted: `[plugins.permissions]` for plugin directories, the manifest's permissions for packs)"
        }
        Requirement::Basic | Requirement::Never => "",
    }
}

/// The linker for `component` under `granted`, and the imports linked as
/// denials (for the load log).
pub(crate) fn linker_for(
    engine: &Engine,
    component: &Component,
    granted: Permissions,
) -> wasmtime::Result<(Linker<PluginState>, Vec<String>)> {
    let mut linker = Linker::new(engine);
    harrier_events::Detector::add_to_linker::<_, HasSelf<_>>(&mut linker, |s| s)?;
    add_granted_wasi(&mut linker, granted)?;
    linker.allow_shadowing(true);

    let mut denied = Vec::new();
    // Resources by the first interface that exports them; later exports of
    // the same resource (`use wasi:io/poll.{pollable}`) are aliases, never
    // defined again.
    let mut resources: Vec<ResourceType> = Vec::new();
    for (name, item) in component.component_type().imports(engine) {
        let ComponentItem::ComponentInstance(instance) = item.ty else {
            continue;
        };
        let interface_need = Requirement::of_interface(name);
        let basic = interface_need == Requirement::Basic;
        let mut unmet = Vec::new();
        for (export, item) in instance.exports(engine) {
            let need = if basic {
                Requirement::of_host_function(export)
            } else {
                interface_need
            };
            match item.ty {
                ComponentItem::Resource(ty) if resources.contains(&ty) => {}
                ComponentItem::Resource(ty) => {
                    resources.push(ty);
                    if !need.met_by(granted) {
                        unmet.push((export, need, true));
                    }
                }
                ComponentItem::ComponentFunc(_) if !need.met_by(granted) => {
                    unmet.push((export, need, false));
                }
                _ => {}
            }
        }
        // Opened only when something is denied: opening an instance the
        // linker holds under another patch version (a guest's
        // `wasi:io/poll@0.2.0`, the host's 0.2.6) would shadow it.
        if unmet.is_empty() {
            continue;
        }
        let mut linked = linker.instance(name)?;
        for (export, need, resource) in unmet {
            if resource {
                linked.resource(export, ResourceType::host::<()>(), |_, _| Ok(()))?;
                continue;
            }
            let error = Denied {
                import: format!("{name}#{export}"),
                needs: need,
            };
            denied.push(error.import.clone());
            linked.func_new(export, move |_, _, _, _| Err(error.clone().into()))?;
        }
    }
    Ok((linker, denied))
}

/// Add the WASI interfaces `granted` covers.
fn add_granted_wasi(
    linker: &mut Linker<PluginState>,
    granted: Permissions,
) -> wasmtime::Result<()> {
    let l = linker;
    if granted.any_wasi() {
        sync::io::error::add_to_linker::<_, HasTable>(l, |s| s.ctx().table)?;
        sync::io::poll::add_to_linker::<_, HasTable>(l, |s| s.ctx().table)?;
        sync::io::streams::add_to_linker::<_, HasTable>(l, |s| s.ctx().table)?;
    }
    if granted.contains(Permission::WasiCli) {
        use wasmtime_wasi::cli::WasiCliView as _;
        cli::exit::add_to_linker::<_, WasiCli>(l, PluginState::cli)?;
        cli::environment::add_to_linker::<_, WasiCli>(l, PluginState::cli)?;
        cli::stdin::add_to_linker::<_, WasiCli>(l, PluginState::cli)?;
        cli::stdout::add_to_linker::<_, WasiCli>(l, PluginState::cli)?;
        cli::stderr::add_to_linker::<_, WasiCli>(l, PluginState::cli)?;
        cli::terminal_input::add_to_linker::<_, WasiCli>(l, PluginState::cli)?;
        cli::terminal_output::add_to_linker::<_, WasiCli>(l, PluginState::cli)?;
        cli::terminal_stdin::add_to_linker::<_, WasiCli>(l, PluginState::cli)?;
        cli::terminal_stdout::add_to_linker::<_, WasiCli>(l, PluginState::cli)?;
        cli::terminal_stderr::add_to_linker::<_, WasiCli>(l, PluginState::cli)?;
    }
    if granted.contains(Permission::WasiClocks) {
        clocks::wall_clock::add_to_linker::<_, wasmtime_wasi::clocks::WasiClocks>(
            l,
            PluginState::clocks,
        )?;
        clocks::monotonic_clock::add_to_linker::<_, Bounded>(l, |s| BoundedClock {
            deadline: s.deadline,
            inner: s.clocks(),
        })?;
    }
    if granted.contains(Permission::WasiRandom) {
        use wasmtime_wasi::random::WasiRandomView as _;
        random::random::add_to_linker::<_, WasiRandom>(l, PluginState::random)?;
        random::insecure::add_to_linker::<_, WasiRandom>(l, PluginState::random)?;
        random::insecure_seed::add_to_linker::<_, WasiRandom>(l, PluginState::random)?;
    }
    Ok(())
}

/// `wasi:io` works on the store's resource table.
struct HasTable;

impl HasData for HasTable {
    type Data<'a> = &'a mut wasmtime::component::ResourceTable;
}

/// The monotonic clock, with sleeps bounded by the current call's deadline.
struct Bounded;

impl HasData for Bounded {
    type Data<'a> = BoundedClock<'a>;
}

struct BoundedClock<'a> {
    deadline: Option<Instant>,
    inner: WasiClocksCtxView<'a>,
}

impl BoundedClock<'_> {
    /// `wanted` if the call's deadline leaves room for it; otherwise the
    /// call is interrupted now, as it would be at its deadline (waiting for
    /// it would only hold the batch up).
    fn bound(&self, wanted: Duration) -> wasmtime::Result<Duration> {
        let Some(deadline) = self.deadline else {
            return Ok(wanted);
        };
        let left = deadline.saturating_duration_since(Instant::now());
        if wanted > left {
            return Err(Trap::Interrupt.into());
        }
        Ok(wanted)
    }
}

impl clocks::monotonic_clock::Host for BoundedClock<'_> {
    fn now(&mut self) -> wasmtime::Result<u64> {
        clocks::monotonic_clock::Host::now(&mut self.inner)
    }

    fn resolution(&mut self) -> wasmtime::Result<u64> {
        clocks::monotonic_clock::Host::resolution(&mut self.inner)
    }

    fn subscribe_instant(&mut self, when: u64) -> wasmtime::Result<Resource<DynPollable>> {
        let now = clocks::monotonic_clock::Host::now(&mut self.inner)?;
        self.subscribe_duration(when.saturating_sub(now))
    }

    fn subscribe_duration(&mut self, nanos: u64) -> wasmtime::Result<Resource<DynPollable>> {
        let bounded = self.bound(Duration::from_nanos(nanos))?;
        let nanos = u64::try_from(bounded.as_nanos()).unwrap_or(u64::MAX);
        clocks::monotonic_clock::Host::subscribe_duration(&mut self.inner, nanos)
    }
}
