//! Plain lists: one indicator per line, `#` comments, `[category]`
//! section headers; entries before any header take the feed's category
//! (from its file name).
//!
//! ```text
//! # GuardDuty's test domains
//! [command-and-control]
//! *.guarddutyc2activityb.com
//! [tor-entry]
//! 198.51.100.0/24
//! ```

use crate::category::Category;
use crate::feed::{Feed, FeedError};
use crate::indicator::{Indicator, Value};

pub(super) fn parse(name: &str, text: &str, default: Option<Category>) -> Result<Feed, FeedError> {
    let mut feed = Feed::new(name);
    let mut category = default;
    for (i, raw) in text.lines().enumerate() {
        let n = i + 1;
        let line = raw.split('#').next().unwrap_or("").trim();
        if line.is_empty() {
            continue;
        }
        if let Some(section) = line.strip_prefix('[') {
            let section = section
                .strip_suffix(']')
                .ok_or_else(|| FeedError::at(name, Some(n), "section header without `]`"))?;
            category = Some(
                section
                    .parse()
                    .map_err(|e| FeedError::at(name, Some(n), format!("{e}")))?,
            );
            continue;
        }
        let category = category.ok_or_else(|| {
            FeedError::at(
                name,
                Some(n),
                "an entry before any [category] header, in a feed whose name is no category",
            )
        })?;
        let value = Value::parse(line).map_err(|e| FeedError::at(name, Some(n), e))?;
        feed.indicators.push(Indicator {
            value,
            category,
            source: feed.name.clone(),
        });
    }
    Ok(feed)
}

#[cfg(test)]
mod tests {
    use crate::feed::parse_feed;

    #[test]
    fn sections_and_file_names_give_categories() {
        let f = parse_feed("phishing.txt", "a.example # comment\n\n[dga]\nb.example\n").unwrap();
        let cats: Vec<&str> = f.indicators.iter().map(|i| i.category.name()).collect();
        assert_eq!(cats, ["phishing", "dga"]);
        assert_eq!(&*f.indicators[0].source, "phishing.txt");
    }

    #[test]
    fn errors_name_the_feed_and_line() {
        let e = parse_feed("list.txt", "a.example\n").unwrap_err();
        assert_eq!(e.line, Some(1));
        assert!(
            e.to_string().starts_with("intel feed `list.txt`: line 1:"),
            "{e}"
        );
        let e = parse_feed("x.txt", "[phishing]\nok.example\nnot a domain\n").unwrap_err();
        assert_eq!(e.line, Some(3), "{e}");
        let e = parse_feed("x.txt", "[ransom]\n").unwrap_err();
        assert!(e.to_string().contains("unknown category `ransom`"), "{e}");
    }
}
