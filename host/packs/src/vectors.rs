//! A pack's own test vectors: per plugin, captures and the findings
//! expected of them ([`crate::manifest::TestVector`]). This crate knows
//! nothing of Wasm, so the agent supplies the [`VectorRunner`]; `pack verify`
//! and `pack install` refuse a pack whose vectors fail.

use crate::PackError;
use crate::canonical::table_to_json;
use crate::verify::VerifiedPack;

/// One test vector of a pack's plugin, with everything needed to run it.
#[derive(Debug, Clone, Copy)]
pub struct VectorCase<'a> {
    /// The detector's name.
    pub detector: &'a str,
    /// Its component bytes.
    pub component: &'a [u8],
    /// The configuration handed to `init` (the vector's, else the plugin's).
    pub config_json: &'a str,
    /// The permissions its manifest requests.
    pub permissions: &'a [String],
    /// The capture to feed it.
    pub events: &'a [u8],
    /// The expected findings, one JSON finding per line.
    pub expect: &'a [u8],
}

/// Runs one test vector: the component, loaded as the agent loads it, over
/// a capture, its findings compared with the expected ones.
pub trait VectorRunner {
    /// Run `case`: `Ok` with the number of findings; `Err` lists the
    /// differences or why it could not run.
    fn run(&self, case: VectorCase<'_>) -> Result<usize, String>;
}

/// A runner for tools that cannot run components: a pack with test vectors
/// is refused rather than accepted untested.
pub struct NoRunner;

impl VectorRunner for NoRunner {
    fn run(&self, case: VectorCase<'_>) -> Result<usize, String> {
        Err(format!(
            "{}: this tool cannot run test vectors (use the harrier binary)",
            case.detector
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
                .run(VectorCase {
                    detector: plugin.name(),
                    component: plugin.bytes(),
                    config_json: &config,
                    permissions: plugin.permissions(),
                    events: file(&vector.events)?,
                    expect: file(&vector.expect)?,
                })
                .map_err(fail)?;
            run += 1;
        }
    }
    Ok(run)
}
