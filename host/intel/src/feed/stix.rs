//! STIX 2.1 bundles: `indicator` objects whose `pattern` compares
//! `domain-name:value`, `ipv4-addr:value`, `ipv6-addr:value` or
//! `file:hashes.'SHA-256'` with `=` (several joined by `OR` are several
//! indicators). Other objects and patterns are counted as unsupported.
//! The category comes from the object's `labels` or `indicator_types`
//! where one names a category, else from the feed's name, else
//! `malicious-file` for hashes and `malicious` for the rest.

use serde_json::Value as Json;

use crate::category::Category;
use crate::feed::{Feed, FeedError};
use crate::indicator::{Indicator, Value, normalize_domain, parse_network, parse_sha256};

pub(super) fn parse(name: &str, text: &str, default: Option<Category>) -> Result<Feed, FeedError> {
    let mut feed = Feed::new(name);
    let bundle: Json = serde_json::from_str(text)
        .map_err(|e| FeedError::at(name, Some(e.line()), format!("not JSON: {e}")))?;
    if bundle.get("type").and_then(Json::as_str) != Some("bundle") {
        return Err(FeedError::at(
            name,
            None,
            "not a STIX bundle (`type` is not \"bundle\")",
        ));
    }
    let objects = bundle
        .get("objects")
        .and_then(Json::as_array)
        .ok_or_else(|| FeedError::at(name, None, "the bundle has no `objects` array"))?;
    for (i, object) in objects.iter().enumerate() {
        let id = object.get("id").and_then(Json::as_str).unwrap_or("?");
        let kind = object.get("type").and_then(Json::as_str).unwrap_or("?");
        if kind != "indicator" {
            feed.skip(format!("object {i} `{id}` of type {kind}"));
            continue;
        }
        let pattern_type = object
            .get("pattern_type")
            .and_then(Json::as_str)
            .unwrap_or("stix");
        let Some(pattern) = object.get("pattern").and_then(Json::as_str) else {
            feed.skip(format!("indicator `{id}` without a pattern"));
            continue;
        };
        if pattern_type != "stix" {
            feed.skip(format!("indicator `{id}`: pattern type {pattern_type}"));
            continue;
        }
        let comparisons = match comparisons(pattern) {
            Ok(c) => c,
            Err(why) => {
                feed.skip(format!("indicator `{id}`: {why}"));
                continue;
            }
        };
        let named = category_of(object).or(default);
        for (path, literal) in comparisons {
            match value_of(&path, &literal) {
                Ok(value) => {
                    let fallback = match value {
                        Value::Sha256(_) => Category::MaliciousFile,
                        _ => Category::Malicious,
                    };
                    feed.indicators.push(Indicator {
                        value,
                        category: named.unwrap_or(fallback),
                        source: feed.name.clone(),
                    });
                }
                Err(why) => feed.skip(format!("indicator `{id}`: {why}")),
            }
        }
    }
    Ok(feed)
}

/// The first of `labels` and `indicator_types` naming a category.
fn category_of(object: &Json) -> Option<Category> {
    ["labels", "indicator_types"]
        .iter()
        .filter_map(|k| object.get(*k).and_then(Json::as_array))
        .flatten()
        .filter_map(Json::as_str)
        .find_map(|s| s.parse().ok())
}

/// An indicator value for a supported object path.
fn value_of(path: &str, literal: &str) -> Result<Value, String> {
    match path {
        "domain-name:value" => {
            let (name, subdomains) = match literal.strip_prefix("*.") {
                Some(rest) => (rest, true),
                None => (literal, false),
            };
            let name = normalize_domain(name)
                .ok_or_else(|| format!("`{literal}` is not a domain name"))?;
            Ok(Value::Domain {
                name: name.into(),
                subdomains,
            })
        }
        "ipv4-addr:value" | "ipv6-addr:value" => parse_network(literal).map(Value::Network),
        p if is_sha256_path(p) => parse_sha256(literal)
            .map(Value::Sha256)
            .ok_or_else(|| format!("`{literal}` is not a SHA-256 digest")),
        other => Err(format!("object path `{other}` is not supported")),
    }
}

fn is_sha256_path(path: &str) -> bool {
    let Some(hash) = path.strip_prefix("file:hashes.") else {
        return false;
    };
    let hash = hash.trim_matches(|c| c == '\'' || c == '"');
    hash.eq_ignore_ascii_case("SHA-256") || hash.eq_ignore_ascii_case("sha256")
}

#[derive(Debug, PartialEq)]
enum Token {
    Open,
    Close,
    Eq,
    Word(String),
    Str(String),
}

/// Split a pattern into tokens; quoted path segments (`hashes.'SHA-256'`)
/// stay inside their word.
fn tokens(pattern: &str) -> Result<Vec<Token>, String> {
    let mut out = Vec::new();
    let mut chars = pattern.chars().peekable();
    while let Some(&c) = chars.peek() {
        match c {
            c if c.is_whitespace() => {
                chars.next();
            }
            '[' => {
                chars.next();
                out.push(Token::Open);
            }
            ']' => {
                chars.next();
                out.push(Token::Close);
            }
            '=' => {
                chars.next();
                out.push(Token::Eq);
            }
            '\'' => {
                chars.next();
                out.push(Token::Str(literal(&mut chars)?));
            }
            '!' | '<' | '>' | '(' | ')' => return Err(format!("operator `{c}` is not supported")),
            _ => {
                let mut word = String::new();
                while let Some(&c) = chars.peek() {
                    if c.is_whitespace() || "[]=!<>()".contains(c) {
                        break;
                    }
                    chars.next();
                    if c == '\'' && word.ends_with('.') {
                        word.push_str(&literal(&mut chars)?);
                    } else {
                        word.push(c);
                    }
                }
                out.push(Token::Word(word));
            }
        }
    }
    Ok(out)
}

/// The rest of a string literal after its opening quote (`\'` and `\\`
/// escapes).
fn literal(chars: &mut std::iter::Peekable<std::str::Chars<'_>>) -> Result<String, String> {
    let mut s = String::new();
    loop {
        match chars.next() {
            None => return Err("unterminated string".to_string()),
            Some('\'') => return Ok(s),
            Some('\\') => match chars.next() {
                Some(c @ ('\'' | '\\')) => s.push(c),
                _ => return Err("bad escape in a string".to_string()),
            },
            Some(c) => s.push(c),
        }
    }
}

/// The `path = 'literal'` comparisons of a pattern made only of
/// observations joined by `OR`, each holding comparisons joined by `OR`.
fn comparisons(pattern: &str) -> Result<Vec<(String, String)>, String> {
    let toks = tokens(pattern)?;
    let mut out = Vec::new();
    let mut i = 0;
    let word =
        |t: Option<&Token>, w: &str| matches!(t, Some(Token::Word(x)) if x.eq_ignore_ascii_case(w));
    loop {
        if toks.get(i) != Some(&Token::Open) {
            return Err("expected `[`".to_string());
        }
        i += 1;
        loop {
            match (toks.get(i), toks.get(i + 1), toks.get(i + 2)) {
                (Some(Token::Word(path)), Some(Token::Eq), Some(Token::Str(lit))) => {
                    out.push((path.clone(), lit.clone()));
                    i += 3;
                }
                (Some(Token::Word(path)), Some(Token::Word(op)), _) => {
                    return Err(format!("`{path} {op}` is not supported (only `=`)"));
                }
                _ => return Err("expected `path = 'value'`".to_string()),
            }
            if word(toks.get(i), "OR") {
                i += 1;
                continue;
            }
            if toks.get(i) == Some(&Token::Close) {
                i += 1;
                break;
            }
            return Err(match toks.get(i) {
                Some(Token::Word(w)) => format!("`{w}` is not supported (only `OR`)"),
                _ => "expected `OR` or `]`".to_string(),
            });
        }
        if i == toks.len() {
            return Ok(out);
        }
        if !word(toks.get(i), "OR") {
            return Err(match toks.get(i) {
                Some(Token::Word(w)) => format!("`{w}` between observations is not supported"),
                _ => "expected `OR` between observations".to_string(),
            });
        }
        i += 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::feed::parse_feed;

    const BUNDLE: &str = r#"{
      "type": "bundle", "id": "bundle--1",
      "objects": [
        {"type": "identity", "id": "identity--1", "name": "acme"},
        {"type": "indicator", "id": "indicator--1", "pattern_type": "stix",
         "labels": ["command-and-control"],
         "pattern": "[domain-name:value = 'C2.Example.'] OR [ipv4-addr:value = '198.51.100.0/24']"},
        {"type": "indicator", "id": "indicator--2", "pattern_type": "stix",
         "pattern": "[file:hashes.'SHA-256' = 'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa']"},
        {"type": "indicator", "id": "indicator--3", "indicator_types": ["anomalous-activity", "phishing"],
         "pattern": "[ipv6-addr:value = '2001:db8::1' OR domain-name:value = '*.phish.example']"},
        {"type": "indicator", "id": "indicator--4", "pattern": "[url:value = 'http://x.example/']"},
        {"type": "indicator", "id": "indicator--5", "pattern": "[domain-name:value = 'a.example' AND ipv4-addr:value = '192.0.2.1']"},
        {"type": "indicator", "id": "indicator--6", "pattern_type": "sigma", "pattern": "title: x"}
      ]
    }"#;

    #[test]
    fn the_common_subset_is_read_and_the_rest_counted() {
        let f = parse_feed("acme.json", BUNDLE).unwrap();
        let got: Vec<(String, &str)> = f
            .indicators
            .iter()
            .map(|i| (i.value.to_string(), i.category.name()))
            .collect();
        assert_eq!(
            got,
            [
                ("c2.example".to_string(), "command-and-control"),
                ("198.51.100.0/24".to_string(), "command-and-control"),
                ("a".repeat(64), "malicious-file"),
                ("2001:db8::1/128".to_string(), "phishing"),
                ("*.phish.example".to_string(), "phishing"),
            ]
        );
        assert_eq!(f.unsupported, 4, "{:?}", f.unsupported_examples);
        assert!(
            f.unsupported_examples[1].contains("url:value"),
            "{:?}",
            f.unsupported_examples
        );
        assert!(
            f.unsupported_examples[2].contains("AND"),
            "{:?}",
            f.unsupported_examples
        );
        assert!(f.summary().contains("4 unsupported"), "{}", f.summary());
    }

    #[test]
    fn patterns_outside_the_subset_are_refused_with_a_reason() {
        assert!(
            comparisons("[domain-name:value != 'x']")
                .unwrap_err()
                .contains('!')
        );
        assert!(
            comparisons("[a:b = 'x'] FOLLOWEDBY [c:d = 'y']")
                .unwrap_err()
                .contains("FOLLOWEDBY")
        );
        assert!(
            comparisons("[a:b = 'x")
                .unwrap_err()
                .contains("unterminated")
        );
        assert_eq!(
            comparisons(r"[domain-name:value = 'it\'s']").unwrap(),
            [("domain-name:value".to_string(), "it's".to_string())]
        );
    }

    #[test]
    fn a_document_that_is_no_bundle_is_refused() {
        let e = parse_feed("x.json", "{\"type\": \"indicator\"}").unwrap_err();
        assert!(e.to_string().contains("not a STIX bundle"), "{e}");
        let e = parse_feed("x.json", "{\n\"type\": ").unwrap_err();
        assert_eq!(e.line, Some(2), "{e}");
    }
}
