//! What a detector may reach beyond the basic `harrier:detector/host`
//! functions: the operator grants [`Permission`]s per detector, and each
//! import of a component is either basic, covered by a permission, or never
//! offered ([`Requirement`]).
//!
//! A detector gets no WASI at all unless granted. Imports a detector lacks
//! the permission for still link, as functions that trap with a message
//! naming the import and the permission it needs: componentize-py and
//! componentize-js guests import many WASI interfaces they never call, and
//! they must load as long as they do not call them. What is granted:
//!
//! | permission    | interfaces                                                            |
//! | ------------- | --------------------------------------------------------------------- |
//! | `wasi:cli`    | `wasi:cli/*`: empty environment and arguments, empty stdin, stdout and stderr to the log, `exit` ends the call |
//! | `wasi:clocks` | `wasi:clocks/wall-clock`, `wasi:clocks/monotonic-clock`; a sleep (`subscribe-*` then `block`/`poll`) ends by the call's deadline |
//! | `wasi:random` | `wasi:random/random`, `insecure`, `insecure-seed`                     |
//! | `intel`       | the `intel-match` host function (threat-intel look-ups)               |
//! | `workload`    | Kubernetes names (`workload`) in `process-info`                       |
//!
//! `wasi:io/*` (errors, streams, pollables) comes with any WASI permission:
//! it does nothing without a stream or pollable from one of them. Files,
//! sockets and every other interface are never offered.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// One thing the operator can grant a detector.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Permission {
    /// `wasi:cli`: environment (empty), stdio (stdout/stderr to the log), exit.
    WasiCli,
    /// `wasi:clocks`: wall and monotonic clocks, sleeps bounded by the deadline.
    WasiClocks,
    /// `wasi:random`: random bytes.
    WasiRandom,
    /// `intel`: the `intel-match` host function.
    Intel,
    /// `workload`: Kubernetes names in `process-info`.
    Workload,
}

impl Permission {
    /// Every permission, in a stable order.
    pub const ALL: [Permission; 5] = [
        Permission::WasiCli,
        Permission::WasiClocks,
        Permission::WasiRandom,
        Permission::Intel,
        Permission::Workload,
    ];

    /// Its stable name, as configuration and pack manifests spell it.
    pub fn name(self) -> &'static str {
        match self {
            Permission::WasiCli => "wasi:cli",
            Permission::WasiClocks => "wasi:clocks",
            Permission::WasiRandom => "wasi:random",
            Permission::Intel => "intel",
            Permission::Workload => "workload",
        }
    }

    /// Whether it grants a WASI interface (and so `wasi:io`).
    pub fn is_wasi(self) -> bool {
        matches!(
            self,
            Permission::WasiCli | Permission::WasiClocks | Permission::WasiRandom
        )
    }

    fn bit(self) -> u32 {
        1 << self as u32
    }
}

impl fmt::Display for Permission {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A permission name that is not one of [`Permission::ALL`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown permission `{0}` (known: wasi:cli, wasi:clocks, wasi:random, intel, workload)")]
pub struct UnknownPermission(pub String);

impl FromStr for Permission {
    type Err = UnknownPermission;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Permission::ALL
            .into_iter()
            .find(|p| p.name() == s)
            .ok_or_else(|| UnknownPermission(s.to_string()))
    }
}

impl Serialize for Permission {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.name())
    }
}

impl<'de> Deserialize<'de> for Permission {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let name = String::deserialize(deserializer)?;
        name.parse().map_err(serde::de::Error::custom)
    }
}

/// A set of permissions (empty by default: no WASI, no gated host data).
#[derive(Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct Permissions(u32);

impl Permissions {
    /// No permission.
    pub const NONE: Permissions = Permissions(0);

    /// Whether `permission` is in the set.
    pub fn contains(self, permission: Permission) -> bool {
        self.0 & permission.bit() != 0
    }

    /// The set with `permission` added.
    pub fn with(self, permission: Permission) -> Self {
        Self(self.0 | permission.bit())
    }

    /// The permissions in both sets (e.g. what a pack asks for and what the
    /// operator allows).
    pub fn intersection(self, other: Self) -> Self {
        Self(self.0 & other.0)
    }

    /// Whether the set is empty.
    pub fn is_empty(self) -> bool {
        self.0 == 0
    }

    /// Whether any WASI permission is granted.
    pub fn any_wasi(self) -> bool {
        self.iter().any(Permission::is_wasi)
    }

    /// The permissions in the set, in [`Permission::ALL`] order.
    pub fn iter(self) -> impl Iterator<Item = Permission> {
        Permission::ALL
            .into_iter()
            .filter(move |p| self.contains(*p))
    }
}

impl FromIterator<Permission> for Permissions {
    fn from_iter<I: IntoIterator<Item = Permission>>(iter: I) -> Self {
        iter.into_iter().fold(Self::NONE, Self::with)
    }
}

impl fmt::Debug for Permissions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list()
            .entries(self.iter().map(Permission::name))
            .finish()
    }
}

impl fmt::Display for Permissions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.is_empty() {
            return f.write_str("none");
        }
        let names: Vec<&str> = self.iter().map(Permission::name).collect();
        f.write_str(&names.join(", "))
    }
}

impl Serialize for Permissions {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_seq(self.iter())
    }
}

impl<'de> Deserialize<'de> for Permissions {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        Ok(Vec::<Permission>::deserialize(deserializer)?
            .into_iter()
            .collect())
    }
}

/// What an imported interface needs to be linked for real.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Requirement {
    /// Every detector has it (`harrier:detector/*`).
    Basic,
    /// Needs this permission.
    Permission(Permission),
    /// Comes with any WASI permission (`wasi:io/*`).
    AnyWasi,
    /// Never offered to detectors (files, sockets, anything unknown).
    Never,
}

impl Requirement {
    /// What `interface` (an import name such as `wasi:cli/stdout@0.2.3`)
    /// needs.
    pub fn of_interface(interface: &str) -> Requirement {
        let unversioned = interface.split('@').next().unwrap_or(interface);
        let (package, name) = unversioned.split_once('/').unwrap_or((unversioned, ""));
        match (package, name) {
            ("harrier:detector", _) => Requirement::Basic,
            ("wasi:io", "error" | "poll" | "streams") => Requirement::AnyWasi,
            (
                "wasi:cli",
                "environment" | "exit" | "stdin" | "stdout" | "stderr" | "terminal-input"
                | "terminal-output" | "terminal-stdin" | "terminal-stdout" | "terminal-stderr",
            ) => Requirement::Permission(Permission::WasiCli),
            ("wasi:clocks", "wall-clock" | "monotonic-clock") => {
                Requirement::Permission(Permission::WasiClocks)
            }
            ("wasi:random", "random" | "insecure" | "insecure-seed") => {
                Requirement::Permission(Permission::WasiRandom)
            }
            _ => Requirement::Never,
        }
    }

    /// What function `function` of `harrier:detector/host` needs: most are
    /// basic, a few are gated.
    pub fn of_host_function(function: &str) -> Requirement {
        match function {
            "intel-match" => Requirement::Permission(Permission::Intel),
            _ => Requirement::Basic,
        }
    }

    /// Whether `granted` satisfies it.
    pub fn met_by(self, granted: Permissions) -> bool {
        match self {
            Requirement::Basic => true,
            Requirement::Permission(p) => granted.contains(p),
            Requirement::AnyWasi => granted.any_wasi(),
            Requirement::Never => false,
        }
    }
}

impl fmt::Display for Requirement {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Requirement::Basic => f.write_str("nothing"),
            Requirement::Permission(p) => write!(f, "permission `{p}`"),
            Requirement::AnyWasi => {
                f.write_str("one of the permissions `wasi:cli`, `wasi:clocks`, `wasi:random`")
            }
            Requirement::Never => f.write_str("an interface detectors are never offered"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_unknown_names_are_refused() {
        for p in Permission::ALL {
            assert_eq!(p.name().parse::<Permission>().unwrap(), p);
        }
        let err = "wasi:filesystem".parse::<Permission>().unwrap_err();
        assert!(err.to_string().contains("`wasi:filesystem`"), "{err}");
        let set: Permissions = serde_json::from_str(r#"["wasi:cli","intel"]"#).unwrap();
        assert_eq!(set.to_string(), "wasi:cli, intel");
        assert_eq!(
            serde_json::to_string(&set).unwrap(),
            r#"["wasi:cli","intel"]"#
        );
        assert!(serde_json::from_str::<Permissions>(r#"["net"]"#).is_err());
    }

    #[test]
    fn interfaces_map_to_what_they_need() {
        use Requirement as R;
        assert_eq!(R::of_interface("harrier:detector/host@0.1.0"), R::Basic);
        assert_eq!(R::of_interface("wasi:io/poll@0.2.0"), R::AnyWasi);
        assert_eq!(
            R::of_interface("wasi:cli/environment@0.2.3"),
            R::Permission(Permission::WasiCli)
        );
        assert_eq!(
            R::of_interface("wasi:clocks/monotonic-clock@0.2.0"),
            R::Permission(Permission::WasiClocks)
        );
        assert_eq!(R::of_interface("wasi:filesystem/preopens@0.2.0"), R::Never);
        assert_eq!(R::of_interface("wasi:sockets/tcp@0.2.0"), R::Never);
        assert_eq!(R::of_interface("wasi:clocks/timezone@0.2.0"), R::Never);
        assert_eq!(
            R::of_host_function("intel-match"),
            R::Permission(Permission::Intel)
        );
        assert!(!R::AnyWasi.met_by(Permissions::NONE.with(Permission::Intel)));
        assert!(R::AnyWasi.met_by(Permissions::NONE.with(Permission::WasiRandom)));
    }
}
