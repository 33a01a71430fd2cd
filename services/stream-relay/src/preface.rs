//! A look at a request's head before hyper does, on the connections that need it.
//!
//! Why: Icecast sources speak an HTTP that hyper does not: the `SOURCE` method, and `PUT` bodies with
//! neither `Content-Length` nor chunking that last until the connection closes (ffmpeg's icecast://,
//! libshout). Their heads are read and parsed here (with httparse, which hyper uses too); a request
//! hyper can serve is handed to it with the bytes already read put back in front ([`crate::rewind`]).
//! The head is bounded: a bigger one is answered 431 without reading further.

use std::io;

use bytes::{Bytes, BytesMut};
use http::{HeaderMap, HeaderName, HeaderValue, header};
use tokio::io::{AsyncRead, AsyncReadExt};

/// The largest request head read here; hyper's own limit is larger, but Icecast heads are small.
pub const MAX_HEAD_BYTES: usize = 16 * 1024;
const MAX_HEADERS: usize = 64;

/// A parsed request head.
#[derive(Debug, Clone)]
pub struct RequestHead {
    pub method: String,
    /// The request target, query included.
    pub target: String,
    pub headers: HeaderMap,
    /// HTTP/1.x's minor version: 1 for HTTP/1.1, 0 for HTTP/1.0.
    pub minor_version: u8,
}

impl RequestHead {
    pub fn path(&self) -> &str {
        self.target.split('?').next().unwrap_or("")
    }

    /// A source whose body runs until the connection closes: hyper cannot read it.
    pub fn is_close_delimited_source(&self) -> bool {
        self.method.eq_ignore_ascii_case("SOURCE")
            || (self.method == "PUT"
                && !self.headers.contains_key(header::CONTENT_LENGTH)
                && !self.headers.contains_key(header::TRANSFER_ENCODING))
    }
}

/// What was read: the parsed head and every byte read so far (the head, and maybe body bytes).
#[derive(Debug)]
pub struct Preface {
    pub head: RequestHead,
    pub bytes: Bytes,
    pub head_len: usize,
}

impl Preface {
    /// The body bytes that arrived with the head.
    pub fn leftover(&self) -> Bytes {
        self.bytes.slice(self.head_len..)
    }
}

#[derive(Debug, thiserror::Error)]
pub enum PrefaceError {
    #[error("the request head is larger than {MAX_HEAD_BYTES} bytes")]
    TooLarge,
    #[error("the request head is malformed: {0}")]
    Malformed(String),
    #[error("the connection closed before a whole request head")]
    Closed,
    #[error("reading the request head: {0}")]
    Io(#[from] io::Error),
}

/// Reads until a whole request head has arrived (or the limit is passed).
pub async fn read(stream: &mut (impl AsyncRead + Unpin)) -> Result<Preface, PrefaceError> {
    let mut buf = BytesMut::with_capacity(2048);
    loop {
        if stream.read_buf(&mut buf).await? == 0 {
            return Err(PrefaceError::Closed);
        }
        if let Some((head, head_len)) = parse(&buf)? {
            return Ok(Preface {
                head,
                bytes: buf.freeze(),
                head_len,
            });
        }
        if buf.len() > MAX_HEAD_BYTES {
            return Err(PrefaceError::TooLarge);
        }
    }
}

/// The head, if complete, and its length.
fn parse(buf: &[u8]) -> Result<Option<(RequestHead, usize)>, PrefaceError> {
    let mut slots = [httparse::EMPTY_HEADER; MAX_HEADERS];
    let mut request = httparse::Request::new(&mut slots);
    let status = request
        .parse(buf)
        .map_err(|e| PrefaceError::Malformed(e.to_string()))?;
    let httparse::Status::Complete(len) = status else {
        return Ok(None);
    };
    if len > MAX_HEAD_BYTES {
        return Err(PrefaceError::TooLarge);
    }
    let mut headers = HeaderMap::new();
    for h in request.headers.iter() {
        let name = HeaderName::from_bytes(h.name.as_bytes())
            .map_err(|e| PrefaceError::Malformed(e.to_string()))?;
        let value =
            HeaderValue::from_bytes(h.value).map_err(|e| PrefaceError::Malformed(e.to_string()))?;
        headers.append(name, value);
    }
    let head = RequestHead {
        method: request.method.unwrap_or_default().to_owned(),
        target: request.path.unwrap_or_default().to_owned(),
        headers,
        minor_version: request.version.unwrap_or(1),
    };
    Ok(Some((head, len)))
}

#[cfg(test)]
mod tests;
