//! Splitting an image reference into repository, tag and digest, as OCSF's
//! `image` object and Falco's `container.image.*` fields want them.

/// The parts of an image reference such as
/// `registry:5000/team/app:1.4@sha256:…`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct ImageRef<'a> {
    /// Everything before the tag and digest: `registry:5000/team/app`.
    pub repository: &'a str,
    /// The tag, if the reference has one: `1.4`.
    pub tag: Option<&'a str>,
    /// The digest, if the reference has one: `sha256:…`.
    pub digest: Option<&'a str>,
}

/// Splits `image`. A colon counts as a tag separator only after the last
/// `/` (so a registry port is not a tag).
pub(crate) fn parse(image: &str) -> ImageRef<'_> {
    let (name, digest) = match image.split_once('@') {
        Some((name, digest)) => (name, Some(digest)),
        None => (image, None),
    };
    let last_slash = name.rfind('/').map_or(0, |i| i + 1);
    match name[last_slash..].rfind(':') {
        Some(colon) => {
            let at = last_slash + colon;
            ImageRef {
                repository: &name[..at],
                tag: Some(&name[at + 1..]),
                digest,
            }
        }
        None => ImageRef {
            repository: name,
            tag: None,
            digest,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repository_tag_and_digest() {
        let r = parse("registry.example:5000/shop/cart:1.4");
        assert_eq!(
            (r.repository, r.tag, r.digest),
            ("registry.example:5000/shop/cart", Some("1.4"), None)
        );
        let r = parse("registry.example:5000/shop/cart");
        assert_eq!(
            (r.repository, r.tag),
            ("registry.example:5000/shop/cart", None)
        );
        let r = parse("nginx@sha256:abcd");
        assert_eq!(
            (r.repository, r.tag, r.digest),
            ("nginx", None, Some("sha256:abcd"))
        );
        let r = parse("busybox:1.36@sha256:ef");
        assert_eq!(
            (r.repository, r.tag, r.digest),
            ("busybox", Some("1.36"), Some("sha256:ef"))
        );
    }
}
