//! A pack's own test vectors: per plugin, captures and the findings
//! expected of them ([`crate::manifest::TestVector`]). This crate knows
//! nothing of Wasm, so the agent supplies the [`VectorRunner`]; `pack verify`
//! and `pack install` refuse a pack whose vectors fail.

use crate::PackError;
use crate::canonical::table_to_json;
use crate::verify::VerifiedPack;

/// Runs one test vector: the component, loaded as the agent loads it, over
/// a capture, its findings compared with the expected ones.
pub trait VectorRunner {
    /// Run `component` (detector `detector`) with `config_json` and the
    /// permissions its manifest requests over the capture `events` and
    /// compare with `expect` (one JSON finding per line). `Ok` with the
    /// number of findings; `Err` lists the differences or why it could not
    /// run.
    fn run(
        &self,
        detector: &str,
        component: &[u8],
        config_json: &str,
        permissions: &[String],
        events: &[u8],
        expect: &[u8],
    ) -> Result<usize, String>;
}

/// A runner for tools that cannot run components: a pack with test vectors
/// is refused rather than accepted untested.
pub struct NoRunner;

impl VectorRunner for NoRunner {
    fn run(
        &self,
        detector: &str,
        _: &[u8],
        _: &str,
        _: &[String],
        _: &[u8],
        _: &[u8],
    ) -> Result<usize, String> {
        Err(format!(
            "{detector}: this tool cannot run test vectors (use the harrier binary)"
        ))
    }
}

/// Run every test vector of every enabled plugin; the number run, or the
/// first failure naming the pack, plugin and vector.
pub fn run_vectors(pack: &VerifiedPack, runner: &dyn VectorRunner) -> Result<usize, PackError> {
    let mut run = 0;
    for plugin in pack.plugins().iter().filter(|p| p.enabled()) {
        let Some(entry) = pack
            .manifest()
            .plugins
            .iter()
            .find(|e| e.name == plugin.name())
        else {
            continue;
        };
        for (i, vector) in entry.tests.iter().enumerate() {
            let fail = |reason: String| PackError::TestFailed {
                pack: pack.label(),
                plugin: plugin.name().to_string(),
                vector: format!("test {} ({})", i + 1, vector.events),
                reason,
            };
            let file = |path: &str| {
                pack.fixtures()
                    .find(|(name, _)| *name == path)
                    .map(|(_, bytes)| bytes)
                    .ok_or_else(|| fail(format!("{path} is not in the pack")))
            };
            let config = match &vector.config {
                Some(table) => table_to_json(table).map_err(fail)?.to_string(),
                None => plugin.config_json(),
            };
            runner
                .run(
                    plugin.name(),
                    plugin.bytes(),
                    &config,
                    plugin.permissions(),
                    file(&vector.events)?,
                    file(&vector.expect)?,
                )
                .map_err(fail)?;
            run += 1;
        }
    }
    Ok(run)
}
