//! Parsing of admin requests: only the request line's method and target
//! matter. Pure and dependency-free, so the fuzz target includes it.

/// What a client asked for.
#[derive(Debug, PartialEq, Eq)]
pub enum Request<'a> {
    /// `GET <target>`.
    Get(&'a str),
    /// Another method.
    OtherMethod,
}

/// Parse the request line of `request` (only the first line is looked at).
pub fn parse_request(request: &[u8]) -> Request<'_> {
    let end = request
        .iter()
        .position(|b| *b == b'\r' || *b == b'\n')
        .unwrap_or(request.len());
    let line = std::str::from_utf8(&request[..end]).unwrap_or("");
    let mut parts = line.split(' ').filter(|p| !p.is_empty());
    match (parts.next(), parts.next()) {
        (Some("GET"), target) => Request::Get(target.unwrap_or("")),
        _ => Request::OtherMethod,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_lines_are_parsed_from_the_first_line_only() {
        assert_eq!(
            parse_request(b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n"),
            Request::Get("/metrics")
        );
        assert_eq!(
            parse_request(b"POST /plugins HTTP/1.1\r\n"),
            Request::OtherMethod
        );
        assert_eq!(parse_request(b"GET"), Request::Get(""));
        assert_eq!(parse_request(b"\xff\xfe"), Request::OtherMethod);
        assert_eq!(parse_request(b"GET /a\nGET /b"), Request::Get("/a"));
    }
}
