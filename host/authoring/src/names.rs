//! A detector's name and the spellings each language's identifiers need.

use anyhow::bail;

/// The longest name accepted (it ends up in finding types and file names).
const MAX_LEN: usize = 48;

/// A detector name in kebab case (`kubectl-exec`), with its snake
/// (`kubectl_exec`) and Pascal (`KubectlExec`) spellings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DetectorName {
    /// As given: lower-case ASCII words joined by `-`.
    pub kebab: String,
    /// Words joined by `_` (Python modules, C identifiers, crate names).
    pub snake: String,
    /// Words capitalised and joined (finding type names, classes).
    pub pascal: String,
}

impl DetectorName {
    /// Check `name`: lower-case ASCII letters and digits in words joined by
    /// single `-`, starting with a letter.
    pub fn parse(name: &str) -> anyhow::Result<Self> {
        let words: Vec<&str> = name.split('-').collect();
        let well_formed = !name.is_empty()
            && name.len() <= MAX_LEN
            && name.starts_with(|c: char| c.is_ascii_lowercase())
            && words.iter().all(|w| {
                !w.is_empty()
                    && w.bytes()
                        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
            });
        if !well_formed {
            bail!(
                "detector name `{name}` is not lower-case words joined by `-` \
                 (e.g. `kubectl-exec`), starting with a letter, at most {MAX_LEN} characters"
            );
        }
        let pascal = words
            .iter()
            .map(|w| {
                let (first, rest) = w.split_at(1);
                format!("{}{rest}", first.to_ascii_uppercase())
            })
            .collect();
        Ok(Self {
            kebab: name.to_string(),
            snake: words.join("_"),
            pascal,
        })
    }

    /// `text` with `{{name}}`, `{{snake}}` and `{{pascal}}` replaced.
    pub fn fill(&self, text: &str) -> String {
        text.replace("{{name}}", &self.kebab)
            .replace("{{snake}}", &self.snake)
            .replace("{{pascal}}", &self.pascal)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spellings() {
        let n = DetectorName::parse("kubectl-exec2").unwrap();
        assert_eq!(n.snake, "kubectl_exec2");
        assert_eq!(n.pascal, "KubectlExec2");
        assert_eq!(
            n.fill("{{name}} {{snake}} {{pascal}}"),
            "kubectl-exec2 kubectl_exec2 KubectlExec2"
        );
    }

    #[test]
    fn refuses_what_is_not_kebab_case() {
        for bad in [
            "", "Kubectl", "9lives", "a--b", "a-", "-a", "a_b", "a b", "é",
        ] {
            let err = DetectorName::parse(bad).unwrap_err().to_string();
            assert!(err.contains(&format!("`{bad}`")), "{bad}: {err}");
        }
        assert!(DetectorName::parse(&"a".repeat(MAX_LEN + 1)).is_err());
    }
}
