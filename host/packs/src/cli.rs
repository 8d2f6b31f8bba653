//! The `harrier pack ...` subcommands: definitions (clap) and their human-readable output.

use std::path::PathBuf;

use anyhow::Context as _;
use clap::Subcommand;

use crate::author::{BuildOptions, archive, build, inspect, sign};
use crate::config::{DEFAULT_PACKS_DIR, DEFAULT_TRUST_DIR};
use crate::keys::{SecretKey, TrustStore, keygen};
use crate::store::{InstallOptions, install_with, list, load_installed, remove};
use crate::vectors::{VectorRunner, run_vectors};
use crate::verify::{VerifiedPack, VerifyOptions, parse_host_wit, verify};

/// Verification flags shared by `verify` and `install`.
#[derive(Debug, Clone, clap::Args)]
pub struct TrustArgs {
    /// Trust store: a directory of `*.pub` keys.
    #[arg(long, value_name = "DIR", default_value = DEFAULT_TRUST_DIR)]
    pub trust: PathBuf,
    /// Accept a pack without pack.sig (development only; it is marked UNSIGNED).
    #[arg(long)]
    pub allow_unsigned: bool,
    /// Largest file accepted in the pack, in bytes.
    #[arg(long, value_name = "BYTES")]
    pub max_entry_bytes: Option<u64>,
    /// Largest pack accepted (sum of its files), in bytes.
    #[arg(long, value_name = "BYTES")]
    pub max_total_bytes: Option<u64>,
}

/// `harrier pack` subcommands: create, sign, check and install signed rule packs.
#[derive(Debug, Clone, Subcommand)]
pub enum PackCommand {
    /// Generate an ed25519 signing key: writes NAME.key (secret, 0600) and NAME.pub.
    Keygen {
        /// Directory to write the key files into.
        #[arg(long, value_name = "DIR", default_value = ".")]
        out: PathBuf,
        /// Base name of the key files.
        #[arg(long, default_value = "pack-signing")]
        name: String,
    },
    /// Compute the digests of a pack directory's plugins, fixtures (`fixtures/`)
    /// and intel feeds (`intel/`) and write pack.toml.
    Build {
        /// The pack directory.
        dir: PathBuf,
        /// Pack name.
        #[arg(long)]
        name: Option<String>,
        /// Pack version (semver).
        #[arg(long = "pack-version", value_name = "VERSION")]
        version: Option<String>,
        /// Vendor.
        #[arg(long)]
        vendor: Option<String>,
        /// Description.
        #[arg(long)]
        description: Option<String>,
        /// Semver requirement on the WIT package (default: compatible with this host).
        #[arg(long, value_name = "REQ")]
        wit: Option<String>,
    },
    /// Sign a pack directory's manifest: writes pack.sig.
    Sign {
        /// The pack directory.
        dir: PathBuf,
        /// Secret key file (from `pack keygen`).
        #[arg(long, value_name = "FILE")]
        key: PathBuf,
    },
    /// Write a pack directory as a reproducible .tar.gz.
    Archive {
        /// The pack directory.
        dir: PathBuf,
        /// The archive to write.
        #[arg(long, short, value_name = "FILE")]
        out: PathBuf,
    },
    /// Verify a pack (directory or .tar.gz) against a trust store.
    Verify {
        /// The pack.
        pack: PathBuf,
        /// Trust store and limits.
        #[command(flatten)]
        trust: TrustArgs,
    },
    /// Show what a pack contains, with each file's digest status.
    Inspect {
        /// The pack (directory or .tar.gz).
        pack: PathBuf,
    },
    /// Verify a pack and install it into the packs directory (replacing an older version).
    Install {
        /// The pack (directory or .tar.gz).
        pack: PathBuf,
        /// The install store.
        #[arg(long, value_name = "DIR", default_value = DEFAULT_PACKS_DIR)]
        packs_dir: PathBuf,
        /// Trust store and limits.
        #[command(flatten)]
        trust: TrustArgs,
        /// Replace an installed version by an older one.
        #[arg(long)]
        allow_downgrade: bool,
    },
    /// List installed packs (with --trust, also verify each).
    List {
        /// The install store.
        #[arg(long, value_name = "DIR", default_value = DEFAULT_PACKS_DIR)]
        packs_dir: PathBuf,
        /// Verify each pack against this trust store.
        #[arg(long, value_name = "DIR")]
        trust: Option<PathBuf>,
        /// With --trust: accept unsigned packs.
        #[arg(long)]
        allow_unsigned: bool,
    },
    /// Remove an installed pack.
    Remove {
        /// Pack name.
        name: String,
        /// The install store.
        #[arg(long, value_name = "DIR", default_value = DEFAULT_PACKS_DIR)]
        packs_dir: PathBuf,
    },
}

impl TrustArgs {
    fn load(&self, host_wit_version: &str) -> anyhow::Result<(TrustStore, VerifyOptions)> {
        let mut opts = VerifyOptions::new(host_wit_version)?;
        opts.allow_unsigned = self.allow_unsigned;
        if let Some(max) = self.max_entry_bytes {
            opts.max_entry_bytes = max;
        }
        if let Some(max) = self.max_total_bytes {
            opts.max_total_bytes = max;
        }
        let trust = match TrustStore::load(&self.trust) {
            Ok(trust) => trust,
            Err(_) if self.allow_unsigned && !self.trust.exists() => TrustStore::empty(),
            Err(e) => return Err(e).context("loading the trust store"),
        };
        Ok((trust, opts))
    }
}

/// Runs a `pack` subcommand, printing human-readable output to stdout.
/// `vectors` runs the packs' own test vectors for `verify` and `install`.
pub fn run(
    cmd: PackCommand,
    host_wit_version: &str,
    vectors: &dyn VectorRunner,
) -> anyhow::Result<()> {
    match cmd {
        PackCommand::Keygen { out, name } => {
            let key = keygen(&out, &name)?;
            println!("key id {}", key.key_id);
            println!("secret key: {} (keep it secret)", key.secret_path.display());
            println!(
                "public key: {} (copy into trust stores)",
                key.public_path.display()
            );
        }
        PackCommand::Build {
            dir,
            name,
            version,
            vendor,
            description,
            wit,
        } => {
            let host = parse_host_wit(host_wit_version)?;
            let default_wit = if host.major == 0 {
                format!("^0.{}", host.minor)
            } else {
                format!("^{}", host.major)
            };
            let outcome = build(
                &dir,
                &BuildOptions {
                    name,
                    version,
                    vendor,
                    description,
                    wit,
                    default_wit,
                },
            )?;
            let m = &outcome.manifest;
            println!(
                "wrote {}/pack.toml: pack {} {} with {} plugin(s), {} fixture(s), {} feed(s)",
                dir.display(),
                m.name,
                m.version,
                m.plugins.len(),
                m.fixtures.len(),
                m.feeds.len()
            );
            for name in &outcome.discovered {
                println!("  added plugin {name} (found its .wasm file)");
            }
            for file in &outcome.unlisted {
                println!(
                    "  warning: {file} is not listed in pack.toml; verify refuses the pack until it is removed"
                );
            }
            if outcome.removed_signature {
                println!("  removed pack.sig: the manifest changed, sign it again");
            }
        }
        PackCommand::Sign { dir, key } => {
            let key = SecretKey::load(&key)?;
            let key_id = sign(&dir, &key)?;
            println!("signed {} with key {key_id}", dir.display());
        }
        PackCommand::Archive { dir, out } => {
            archive(&dir, &out)?;
            println!("wrote {}", out.display());
        }
        PackCommand::Verify { pack, trust } => {
            let (store, opts) = trust.load(host_wit_version)?;
            let verified = verify(&pack, &store, &opts)?;
            let tested = run_vectors(&verified, vectors)?;
            println!(
                "OK {}: {}, {tested} test vector(s) passed",
                describe(&verified),
                verified.signer()
            );
            for plugin in verified.plugins() {
                println!(
                    "  {} {}  sha256 {}",
                    plugin.name(),
                    plugin.version(),
                    plugin.sha256()
                );
            }
        }
        PackCommand::Inspect { pack } => print!("{}", inspect(&pack)?),
        PackCommand::Install {
            pack,
            packs_dir,
            trust,
            allow_downgrade,
        } => {
            let (store, opts) = trust.load(host_wit_version)?;
            // Refuse a pack whose own tests fail before anything is installed.
            run_vectors(&verify(&pack, &store, &opts)?, vectors)?;
            let options = InstallOptions { allow_downgrade };
            let outcome = install_with(&pack, &packs_dir, &store, &opts, options)?;
            let replaced = outcome
                .replaced
                .map(|v| format!(", replacing version {v}"))
                .unwrap_or_default();
            println!(
                "installed {} into {}{replaced}: {}",
                describe(&outcome.pack),
                outcome.dir.display(),
                outcome.pack.signer()
            );
        }
        PackCommand::List {
            packs_dir,
            trust,
            allow_unsigned,
        } => {
            let installed = list(&packs_dir)?;
            if installed.is_empty() {
                println!("no packs installed in {}", packs_dir.display());
            }
            for pack in &installed {
                let version = pack.manifest.as_ref().map_or("?", |m| m.version.as_str());
                let plugins = pack.manifest.as_ref().map_or(0, |m| m.plugins.len());
                let signer = pack
                    .claimed_key_id
                    .as_ref()
                    .map_or("UNSIGNED".to_string(), |k| format!("key {k}"));
                let problem = pack
                    .problem
                    .as_ref()
                    .map(|p| format!("  PROBLEM: {p}"))
                    .unwrap_or_default();
                println!(
                    "{} {}  {plugins} plugin(s)  {signer}{problem}",
                    pack.name, version
                );
            }
            if let Some(trust) = trust {
                let args = TrustArgs {
                    trust,
                    allow_unsigned,
                    max_entry_bytes: None,
                    max_total_bytes: None,
                };
                let (store, opts) = args.load(host_wit_version)?;
                for result in load_installed(&packs_dir, &store, &opts) {
                    match result {
                        Ok(pack) => println!("verified {}: {}", pack.label(), pack.signer()),
                        Err(e) => println!("REFUSED {e}"),
                    }
                }
            }
        }
        PackCommand::Remove { name, packs_dir } => {
            remove(&packs_dir, &name)?;
            println!("removed pack {name} from {}", packs_dir.display());
        }
    }
    Ok(())
}

fn describe(pack: &VerifiedPack) -> String {
    format!("pack {} ({} plugin(s))", pack.label(), pack.plugins().len())
}
