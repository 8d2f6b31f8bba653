//! Why a look-up failed.

/// A failed look-up of a container at one runtime endpoint.
#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq)]
pub enum LookupError {
    /// The endpoint could not be reached (no socket, nothing listening, timeout).
    #[error("container runtime at {endpoint} is unavailable: {reason}")]
    Unavailable {
        /// The socket path.
        endpoint: String,
        /// What went wrong.
        reason: String,
    },
    /// The endpoint answered with an error or something unreadable.
    #[error("container runtime at {endpoint} failed the look-up: {reason}")]
    Failed {
        /// The socket path.
        endpoint: String,
        /// What went wrong.
        reason: String,
    },
}
