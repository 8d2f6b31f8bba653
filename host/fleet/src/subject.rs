//! Names on the bus: subjects from patterns, message ids, `nats://` sink
//! strings.

/// Replaces what may not appear in one subject token (`.`, `*`, `>`,
/// whitespace) with `_`, so a node or cluster name is one token.
pub fn token(name: &str) -> String {
    let cleaned: String = name
        .chars()
        .map(|c| match c {
            '.' | '*' | '>' => '_',
            c if c.is_whitespace() => '_',
            c => c,
        })
        .collect();
    if cleaned.is_empty() {
        "_".into()
    } else {
        cleaned
    }
}

/// The subject `pattern` names for this node (`{node}`, `{cluster}`).
pub fn expand(pattern: &str, node: &str, cluster: &str) -> String {
    pattern
        .replace("{node}", &token(node))
        .replace("{cluster}", &token(cluster))
}

/// The subjects a stream must capture for `pattern`: each placeholder
/// becomes `*`.
pub fn wildcard(pattern: &str) -> String {
    pattern.replace("{node}", "*").replace("{cluster}", "*")
}

/// The message id of one emission of a finding: node, finding id and
/// revision. The server keeps ids for its duplicate window, so a retried
/// publish of the same emission is stored once.
pub fn message_id(node: &str, finding_id: &str, revision: u32) -> String {
    format!("{}:{finding_id}:{revision}", token(node))
}

/// The URL with any `user:password@` replaced by `***@`, for messages.
pub fn redact(url: &str) -> String {
    match (url.split_once("://"), url.rfind('@')) {
        (Some((scheme, _)), Some(at)) => format!("{scheme}://***{}", &url[at..]),
        _ => url.to_string(),
    }
}

/// A `nats://HOST:PORT[/SUBJECT]` sink string, parsed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NatsSinkSpec {
    /// `nats://HOST:PORT`.
    pub url: String,
    /// The subject pattern, if the string names one.
    pub subject: Option<String>,
}

/// Parses `nats://HOST:PORT[/SUBJECT]` (or `tls://`). Credentials in the
/// URL are refused: they would show in process listings and logs.
pub fn parse_sink(text: &str) -> Result<NatsSinkSpec, String> {
    let (scheme, rest) = text
        .split_once("://")
        .filter(|(scheme, _)| matches!(*scheme, "nats" | "tls"))
        .ok_or_else(|| format!("output `{text}`: expected nats://HOST:PORT/SUBJECT"))?;
    let (host, subject) = match rest.split_once('/') {
        Some((host, subject)) => (host, Some(subject)),
        None => (rest, None),
    };
    if host.contains('@') {
        return Err(format!(
            "output `{scheme}://…`: credentials do not belong in the URL; put them in [output.nats]"
        ));
    }
    if host.is_empty() {
        return Err(format!(
            "output `{text}`: no server (expected nats://HOST:PORT/SUBJECT)"
        ));
    }
    let subject = subject.filter(|s| !s.is_empty()).map(str::to_string);
    if let Some(subject) = &subject
        && (subject.contains(['*', '>', ' ']) || subject.starts_with('.') || subject.ends_with('.'))
    {
        return Err(format!(
            "output `{text}`: `{subject}` is not a subject to publish on (no wildcards, spaces or empty tokens)"
        ));
    }
    Ok(NatsSinkSpec {
        url: format!("{scheme}://{host}"),
        subject,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patterns_expand_to_one_token_per_name() {
        assert_eq!(
            expand(
                "harrier.findings.{cluster}.{node}",
                "web-1.example",
                "prod eu"
            ),
            "harrier.findings.prod_eu.web-1_example"
        );
        assert_eq!(
            wildcard("harrier.findings.{cluster}.{node}"),
            "harrier.findings.*.*"
        );
        assert_eq!(message_id("n.1", "abc", 3), "n_1:abc:3");
    }

    #[test]
    fn sink_strings_parse_and_refuse_credentials() {
        assert_eq!(
            parse_sink("nats://127.0.0.1:4222/h.f").unwrap(),
            NatsSinkSpec {
                url: "nats://127.0.0.1:4222".into(),
                subject: Some("h.f".into())
            }
        );
        assert_eq!(parse_sink("nats://h:1").unwrap().subject, None);
        assert_eq!(redact("nats://u:secret@h:1/x"), "nats://***@h:1/x");
        let err = parse_sink("nats://u:secret@h:1/x").unwrap_err();
        assert!(!err.contains("secret"), "{err}");
        assert!(parse_sink("nats://h:1/a.*").is_err());
        assert!(parse_sink("http://h").is_err());
    }
}
