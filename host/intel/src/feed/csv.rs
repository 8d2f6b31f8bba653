//! CSV feeds with a header row. Columns (any order, others ignored):
//! `indicator` (or `value`), `category` (optional when the feed's name is a
//! category), `source` (optional, defaults to the feed's name).

use std::sync::Arc;

use crate::category::Category;
use crate::feed::{Feed, FeedError};
use crate::indicator::{Indicator, Value};

pub(super) fn parse(name: &str, text: &str, default: Option<Category>) -> Result<Feed, FeedError> {
    let mut feed = Feed::new(name);
    let mut reader = ::csv::ReaderBuilder::new()
        .trim(::csv::Trim::All)
        .comment(Some(b'#'))
        .flexible(true)
        .from_reader(text.as_bytes());
    let headers = reader
        .headers()
        .map_err(|e| FeedError::at(name, Some(1), format!("bad header: {e}")))?
        .clone();
    let column = |names: &[&str]| {
        headers
            .iter()
            .position(|h| names.iter().any(|n| h.eq_ignore_ascii_case(n)))
    };
    let value_col = column(&["indicator", "value"]).ok_or_else(|| {
        FeedError::at(
            name,
            Some(1),
            "the header has no `indicator` (or `value`) column",
        )
    })?;
    let category_col = column(&["category"]);
    if category_col.is_none() && default.is_none() {
        return Err(FeedError::at(
            name,
            Some(1),
            "the header has no `category` column and the feed's name is no category",
        ));
    }
    let source_col = column(&["source"]);
    let mut sources: Vec<Arc<str>> = Vec::new();
    for record in reader.records() {
        let record = record.map_err(|e| {
            let line = e.position().map(|p| p.line() as usize);
            FeedError::at(name, line, e.to_string())
        })?;
        let n = record.position().map(|p| p.line() as usize);
        let field = |col: Option<usize>| col.and_then(|c| record.get(c)).filter(|v| !v.is_empty());
        let Some(text) = field(Some(value_col)) else {
            return Err(FeedError::at(name, n, "empty indicator"));
        };
        let value = Value::parse(text).map_err(|e| FeedError::at(name, n, e))?;
        let category = match field(category_col) {
            Some(c) => c
                .parse()
                .map_err(|e| FeedError::at(name, n, format!("{e}")))?,
            None => default.ok_or_else(|| FeedError::at(name, n, "no category"))?,
        };
        let source = match field(source_col) {
            Some(s) => match sources.iter().find(|x| &***x == s) {
                Some(x) => x.clone(),
                None => {
                    sources.push(s.into());
                    sources[sources.len() - 1].clone()
                }
            },
            None => feed.name.clone(),
        };
        feed.indicators.push(Indicator {
            value,
            category,
            source,
        });
    }
    Ok(feed)
}

#[cfg(test)]
mod tests {
    use crate::category::Category;
    use crate::feed::parse_feed;

    #[test]
    fn columns_by_header_name() {
        let f = parse_feed(
            "f.csv",
            "first_seen,Indicator,Category,Source\n2024-01-01,evil.example,c2,acme\n# note\n2024-01-02,203.0.113.5,tor-relay,\n",
        )
        .unwrap();
        assert_eq!(f.indicators.len(), 2);
        assert_eq!(f.indicators[0].category, Category::CommandAndControl);
        assert_eq!(&*f.indicators[0].source, "acme");
        assert_eq!(&*f.indicators[1].source, "f.csv");
        let f = parse_feed("drop-point.csv", "value\nx.example\n").unwrap();
        assert_eq!(f.indicators[0].category, Category::DropPoint);
    }

    #[test]
    fn bad_rows_name_the_line() {
        let e = parse_feed(
            "f.csv",
            "indicator,category\nok.example,phishing\nbad one,phishing\n",
        )
        .unwrap_err();
        assert_eq!(e.line, Some(3), "{e}");
        let e = parse_feed("f.csv", "domain,category\n").unwrap_err();
        assert!(e.to_string().contains("no `indicator`"), "{e}");
        let e = parse_feed("f.csv", "indicator\nx.example\n").unwrap_err();
        assert!(e.to_string().contains("no `category` column"), "{e}");
    }
}
