//! A renderer for the subset of Helm's template language Harrier's chart
//! uses, so the chart is checked without Helm:
//!
//! - `{{ .Values.a.b }}`, `{{ .Release.Namespace }}`, `{{ .Chart.AppVersion }}`;
//! - pipes `| quote`, `| nindent N`, `| indent N`, and `toYaml X`;
//! - `{{-` trims the whitespace before it (newlines included).
//!
//! Anything else is an error naming the expression, so a template that
//! needs real Helm features fails the check instead of rendering wrongly.

#![deny(missing_docs)]

use serde_yaml::Value;

/// What the templates can refer to.
#[derive(Debug, Clone)]
pub struct Context {
    /// The chart's values (`values.yaml`, possibly overridden).
    pub values: Value,
    /// `.Release.Namespace`.
    pub namespace: String,
    /// `.Chart.AppVersion`.
    pub app_version: String,
}

/// Why a template could not be rendered.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum RenderError {
    /// `{{` without `}}`.
    #[error("unclosed `{{{{` at byte {0}")]
    Unclosed(usize),
    /// An expression outside the supported subset.
    #[error("unsupported template expression `{0}`")]
    Unsupported(String),
    /// `.Values.…` names nothing.
    #[error("`{0}` is not in the values")]
    Missing(String),
}

/// Renders `template` with `context`.
pub fn render(template: &str, context: &Context) -> Result<String, RenderError> {
    let mut out = String::with_capacity(template.len());
    let mut rest = template;
    let mut offset = 0;
    while let Some(start) = rest.find("{{") {
        let end = rest[start..]
            .find("}}")
            .ok_or(RenderError::Unclosed(offset + start))?
            + start;
        out.push_str(&rest[..start]);
        let mut expr = &rest[start + 2..end];
        if let Some(trimmed) = expr.strip_prefix('-') {
            expr = trimmed;
            let kept = out.trim_end().len();
            out.truncate(kept);
        }
        out.push_str(&evaluate(expr.trim(), context)?);
        offset += end + 2;
        rest = &rest[end + 2..];
    }
    out.push_str(rest);
    Ok(out)
}

/// Evaluates one pipeline.
fn evaluate(expr: &str, context: &Context) -> Result<String, RenderError> {
    let unsupported = || RenderError::Unsupported(expr.to_string());
    let mut stages = expr.split('|').map(str::trim);
    let head = stages.next().ok_or_else(unsupported)?;
    let mut text = match head.split_whitespace().collect::<Vec<_>>().as_slice() {
        ["toYaml", path] => {
            let value = lookup(path, context)?;
            serde_yaml::to_string(&value)
                .map_err(|_| unsupported())?
                .trim_end()
                .to_string()
        }
        [path] => scalar(&lookup(path, context)?).ok_or_else(unsupported)?,
        _ => return Err(unsupported()),
    };
    for stage in stages {
        text = match stage.split_whitespace().collect::<Vec<_>>().as_slice() {
            ["quote"] => serde_json::to_string(&text).expect("a string serializes"),
            ["nindent", n] => format!("\n{}", indent(&text, n.parse().map_err(|_| unsupported())?)),
            ["indent", n] => indent(&text, n.parse().map_err(|_| unsupported())?),
            _ => return Err(unsupported()),
        };
    }
    Ok(text)
}

/// The value at a dotted path.
fn lookup(path: &str, context: &Context) -> Result<Value, RenderError> {
    match path {
        ".Release.Namespace" => return Ok(Value::String(context.namespace.clone())),
        ".Chart.AppVersion" => return Ok(Value::String(context.app_version.clone())),
        _ => {}
    }
    let keys = path
        .strip_prefix(".Values.")
        .ok_or_else(|| RenderError::Unsupported(path.to_string()))?;
    let mut value = &context.values;
    for key in keys.split('.') {
        value = value
            .get(key)
            .ok_or_else(|| RenderError::Missing(path.to_string()))?;
    }
    Ok(value.clone())
}

/// A scalar as Helm prints it.
fn scalar(value: &Value) -> Option<String> {
    match value {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

/// Every line of `text` indented by `n` spaces (Helm's `indent`).
fn indent(text: &str, n: usize) -> String {
    let pad = " ".repeat(n);
    text.split('\n')
        .map(|line| format!("{pad}{line}"))
        .collect::<Vec<_>>()
        .join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn context() -> Context {
        Context {
            values: serde_yaml::from_str(
                "image: {repository: harrier, tag: 0.1.0}\nport: 9464\nlist: [{operator: Exists}]\ntext: \"a\\nb\\n\"\n",
            )
            .unwrap(),
            namespace: "sec".into(),
            app_version: "0.1.0".into(),
        }
    }

    #[test]
    fn values_pipes_and_trimming() {
        let c = context();
        assert_eq!(
            render("ns: {{ .Release.Namespace }}", &c).unwrap(),
            "ns: sec"
        );
        assert_eq!(
            render(
                "i: \"{{ .Values.image.repository }}:{{ .Values.image.tag }}\"",
                &c
            )
            .unwrap(),
            "i: \"harrier:0.1.0\""
        );
        assert_eq!(
            render("p: {{ .Values.port | quote }}", &c).unwrap(),
            "p: \"9464\""
        );
        assert_eq!(
            render("t:\n  {{- toYaml .Values.list | nindent 2 }}\n", &c).unwrap(),
            "t:\n  - operator: Exists\n"
        );
        assert_eq!(
            render("x: |\n  {{- .Values.text | nindent 2 }}", &c).unwrap(),
            "x: |\n  a\n  b\n  "
        );
    }

    #[test]
    fn anything_else_is_an_error_naming_it() {
        let c = context();
        assert_eq!(
            render("{{ if .Values.port }}", &c),
            Err(RenderError::Unsupported("if .Values.port".into()))
        );
        assert_eq!(
            render("{{ .Values.nope }}", &c),
            Err(RenderError::Missing(".Values.nope".into()))
        );
        assert_eq!(
            render("a {{ .Values.port", &c),
            Err(RenderError::Unclosed(2))
        );
        assert!(matches!(
            render("{{ .Values.port | upper }}", &c),
            Err(RenderError::Unsupported(_))
        ));
    }
}
