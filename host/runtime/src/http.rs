//! A minimal HTTP/1.0 GET over a unix socket, enough for the Docker Engine
//! API: one request per connection, the body read to the end.

use std::path::Path;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::UnixStream;

/// Largest response read (an inspect document is a few KiB).
const MAX_RESPONSE: usize = 4 * 1024 * 1024;

/// The status code and body of `GET request_path` at the socket.
pub(crate) async fn get(socket: &Path, request_path: &str) -> std::io::Result<(u16, Vec<u8>)> {
    let mut stream = UnixStream::connect(socket).await?;
    let request = format!(
        "GET {request_path} HTTP/1.0\r\nHost: localhost\r\nAccept: application/json\r\n\r\n"
    );
    stream.write_all(request.as_bytes()).await?;
    let mut response = Vec::new();
    (&mut stream)
        .take(MAX_RESPONSE as u64 + 1)
        .read_to_end(&mut response)
        .await?;
    if response.len() > MAX_RESPONSE {
        return Err(invalid("response larger than 4 MiB"));
    }
    parse(&response)
}

/// Splits a full HTTP response into its status code and body.
fn parse(response: &[u8]) -> std::io::Result<(u16, Vec<u8>)> {
    let head_end = response
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .ok_or_else(|| invalid("no end of headers"))?;
    let head =
        std::str::from_utf8(&response[..head_end]).map_err(|_| invalid("headers not UTF-8"))?;
    let status = head
        .lines()
        .next()
        .and_then(|line| line.split_whitespace().nth(1))
        .and_then(|code| code.parse().ok())
        .ok_or_else(|| invalid("no status line"))?;
    let chunked = head.lines().any(|l| {
        let l = l.to_ascii_lowercase();
        l.starts_with("transfer-encoding:") && l.contains("chunked")
    });
    let body = &response[head_end + 4..];
    let body = if chunked {
        dechunk(body)?
    } else {
        body.to_vec()
    };
    Ok((status, body))
}

/// Decodes a chunked body (servers may chunk even an HTTP/1.0 answer).
fn dechunk(mut body: &[u8]) -> std::io::Result<Vec<u8>> {
    let mut out = Vec::new();
    loop {
        let line_end = body
            .windows(2)
            .position(|w| w == b"\r\n")
            .ok_or_else(|| invalid("bad chunk"))?;
        let size_text = std::str::from_utf8(&body[..line_end]).map_err(|_| invalid("bad chunk"))?;
        let size = usize::from_str_radix(size_text.split(';').next().unwrap_or("").trim(), 16)
            .map_err(|_| invalid("bad chunk size"))?;
        body = &body[line_end + 2..];
        if size == 0 {
            return Ok(out);
        }
        let chunk = body.get(..size).ok_or_else(|| invalid("short chunk"))?;
        out.extend_from_slice(chunk);
        body = body.get(size + 2..).unwrap_or_default();
    }
}

fn invalid(what: &str) -> std::io::Error {
    std::io::Error::new(std::io::ErrorKind::InvalidData, format!("HTTP: {what}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_and_chunked_bodies() {
        let (code, body) =
            parse(b"HTTP/1.0 200 OK\r\nContent-Type: application/json\r\n\r\n{\"a\":1}").unwrap();
        assert_eq!((code, body.as_slice()), (200, &b"{\"a\":1}"[..]));
        let (code, body) =
            parse(b"HTTP/1.1 404 Not Found\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n").unwrap();
        assert_eq!((code, body.as_slice()), (404, &b"abcde"[..]));
        assert!(parse(b"garbage").is_err());
    }

    #[tokio::test(flavor = "current_thread")]
    async fn talks_to_a_unix_socket_server() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("api.sock");
        let listener = tokio::net::UnixListener::bind(&path).unwrap();
        let server = tokio::spawn(async move {
            let (mut s, _) = listener.accept().await.unwrap();
            let mut buf = vec![0u8; 1024];
            let n = s.read(&mut buf).await.unwrap();
            let request = String::from_utf8_lossy(&buf[..n]).to_string();
            s.write_all(b"HTTP/1.0 200 OK\r\n\r\nhello").await.unwrap();
            request
        });
        let (code, body) = get(&path, "/containers/x/json").await.unwrap();
        assert_eq!((code, body.as_slice()), (200, &b"hello"[..]));
        assert!(
            server
                .await
                .unwrap()
                .starts_with("GET /containers/x/json HTTP/1.0\r\n")
        );
    }
}
