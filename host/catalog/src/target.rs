//! Where a round's batch goes: a detector set being assembled, or the set
//! inside a running agent.

use std::time::Duration;

use harrier_pipeline::{AgentHandle, Change, DetectorSet, Running};

/// A detector set the catalog reconciles: it says what it holds and takes
/// one batch of changes per round.
pub trait Target {
    /// What the set holds now, as the set records it.
    fn running(&self) -> Running;
    /// Apply one batch; whether it was applied (the next round re-plans
    /// from [`Target::running`] either way).
    fn apply(&mut self, batch: Vec<Change>) -> bool;
}

impl Target for DetectorSet {
    fn running(&self) -> Running {
        self.ledger().running()
    }

    fn apply(&mut self, batch: Vec<Change>) -> bool {
        DetectorSet::apply(self, Change::Batch(batch));
        true
    }
}

/// The set inside a running agent: the batch is applied between two event
/// batches, and the round waits for it so the next one plans from the truth.
pub(crate) struct InAgent<'a> {
    pub(crate) agent: &'a AgentHandle,
    pub(crate) timeout: Duration,
}

impl Target for InAgent<'_> {
    fn running(&self) -> Running {
        self.agent.running()
    }

    fn apply(&mut self, batch: Vec<Change>) -> bool {
        let applied = self.agent.apply(Change::Batch(batch), self.timeout);
        if !applied {
            tracing::warn!(
                timeout_ms = self.timeout.as_millis() as u64,
                "detector changes not applied in time (agent busy or stopping); the next round plans again"
            );
        }
        applied
    }
}
