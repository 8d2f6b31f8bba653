//! The files of a new detector project, per language, and writing them.

use std::path::{Path, PathBuf};
use std::str::FromStr;

use anyhow::{Context, bail};

use crate::embedded;
use crate::names::DetectorName;

/// The languages a scaffold can be written in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Language {
    /// Rust with `harrier-sdk`, built for `wasm32-unknown-unknown`.
    Rust,
    /// Python with `harrier_sdk`, built by componentize-py.
    Python,
    /// JavaScript with `harrier-sdk`, built by componentize-js.
    Js,
    /// C with wit-bindgen's C bindings, built by clang for wasm32-wasi.
    C,
}

impl Language {
    /// Every language, in the order the documentation lists them.
    pub const ALL: [Language; 4] = [Language::Rust, Language::Python, Language::Js, Language::C];

    /// The name `--lang` takes.
    pub fn name(self) -> &'static str {
        match self {
            Language::Rust => "rust",
            Language::Python => "python",
            Language::Js => "js",
            Language::C => "c",
        }
    }

    fn template(self) -> &'static [(&'static str, &'static [u8])] {
        match self {
            Language::Rust => embedded::TEMPLATE_RUST,
            Language::Python => embedded::TEMPLATE_PYTHON,
            Language::Js => embedded::TEMPLATE_JS,
            Language::C => embedded::TEMPLATE_C,
        }
    }

    /// The vendored SDK: its files and the folder it goes to.
    fn sdk(self) -> (&'static [(&'static str, &'static [u8])], &'static str) {
        match self {
            Language::Rust => (embedded::SDK_RUST, "harrier-sdk/src"),
            Language::Python => (embedded::SDK_PYTHON, "harrier_sdk"),
            Language::Js => (embedded::SDK_JS, "harrier-sdk"),
            Language::C => (embedded::SDK_C, "harrier-sdk"),
        }
    }
}

impl FromStr for Language {
    type Err = anyhow::Error;

    fn from_str(s: &str) -> anyhow::Result<Self> {
        Language::ALL
            .into_iter()
            .find(|l| l.name() == s)
            .with_context(|| format!("unknown language `{s}`: expected rust, python, js or c"))
    }
}

/// A new detector project.
#[derive(Debug, Clone)]
pub struct Scaffold {
    name: DetectorName,
    language: Language,
}

/// One file of a scaffold.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScaffoldFile {
    /// Relative to the project directory.
    pub path: PathBuf,
    /// Its contents.
    pub contents: Vec<u8>,
}

impl Scaffold {
    /// A project for the detector `name` in `language`.
    pub fn new(name: DetectorName, language: Language) -> Self {
        Self { name, language }
    }

    /// Every file of the project: the language's template and the common
    /// fixtures with the name filled in, the contract and the SDK verbatim.
    pub fn files(&self) -> Vec<ScaffoldFile> {
        let filled = |tree: &[(&str, &[u8])], under: &str| {
            tree.iter()
                .map(|(path, bytes)| ScaffoldFile {
                    path: Path::new(under).join(self.name.fill(path)),
                    contents: self.name.fill(&String::from_utf8_lossy(bytes)).into_bytes(),
                })
                .collect::<Vec<_>>()
        };
        let verbatim = |tree: &[(&str, &[u8])], under: &str| {
            tree.iter()
                .map(|(path, bytes)| ScaffoldFile {
                    path: Path::new(under).join(path),
                    contents: bytes.to_vec(),
                })
                .collect::<Vec<_>>()
        };
        let (sdk, sdk_dir) = self.language.sdk();
        let mut files = filled(embedded::TEMPLATE_COMMON, "");
        files.extend(filled(self.language.template(), ""));
        files.extend(verbatim(embedded::CONTRACT, "wit"));
        files.extend(verbatim(sdk, sdk_dir));
        files
    }

    /// Write the project into `dir`, which must not exist or be empty, and
    /// return the files written.
    pub fn write(&self, dir: &Path) -> anyhow::Result<Vec<PathBuf>> {
        if dir.exists() {
            let occupied = std::fs::read_dir(dir)
                .with_context(|| format!("reading {}", dir.display()))?
                .next()
                .is_some();
            if occupied {
                bail!("{} already exists and is not empty", dir.display());
            }
        }
        let mut written = Vec::new();
        for file in self.files() {
            let path = dir.join(&file.path);
            if let Some(parent) = path.parent() {
                std::fs::create_dir_all(parent)
                    .with_context(|| format!("creating {}", parent.display()))?;
            }
            std::fs::write(&path, &file.contents)
                .with_context(|| format!("writing {}", path.display()))?;
            written.push(path);
        }
        Ok(written)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kubectl_exec(language: Language) -> Scaffold {
        Scaffold::new(DetectorName::parse("kubectl-exec").unwrap(), language)
    }

    #[test]
    fn every_language_carries_the_contract_fixtures_and_its_sdk() {
        for language in Language::ALL {
            let files = kubectl_exec(language).files();
            let has = |p: &str| files.iter().any(|f| f.path == Path::new(p));
            for path in [
                "wit/detector.wit",
                "fixtures/detect.jsonl",
                "Makefile",
                "README.md",
            ] {
                assert!(has(path), "{}: no {path}", language.name());
            }
            let (_, sdk_dir) = language.sdk();
            assert!(
                files.iter().any(|f| f.path.starts_with(sdk_dir)),
                "{}: no SDK under {sdk_dir}",
                language.name()
            );
            let leftover = files.iter().find(|f| {
                !f.path.starts_with(sdk_dir)
                    && !f.path.starts_with("wit")
                    && has_placeholder(&String::from_utf8_lossy(&f.contents))
            });
            assert!(
                leftover.is_none(),
                "{}: unfilled placeholder in {:?}",
                language.name(),
                leftover.map(|f| &f.path)
            );
        }
    }

    /// Whether `text` holds a `{{word}}` placeholder.
    fn has_placeholder(text: &str) -> bool {
        text.split("{{").skip(1).any(|rest| {
            rest.split_once("}}").is_some_and(|(word, _)| {
                !word.is_empty() && word.bytes().all(|b| b.is_ascii_lowercase())
            })
        })
    }

    #[test]
    fn languages_by_name() {
        for language in Language::ALL {
            assert_eq!(language.name().parse::<Language>().unwrap(), language);
        }
        let err = "go".parse::<Language>().unwrap_err().to_string();
        assert!(err.contains("`go`"), "{err}");
    }

    #[test]
    fn refuses_a_directory_with_files() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("keep"), "x").unwrap();
        let err = kubectl_exec(Language::Rust)
            .write(dir.path())
            .unwrap_err()
            .to_string();
        assert!(err.contains("not empty"), "{err}");
        assert_eq!(std::fs::read(dir.path().join("keep")).unwrap(), b"x");
    }
}
