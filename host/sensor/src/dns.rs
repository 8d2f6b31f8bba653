//! A small, strictly bounded DNS message parser (RFC 1035) for what the sensor
//! captures: the first question of a query, and the question, response code
//! and A/AAAA/CNAME answers of a response.
//!
//! Input comes from any process on the host, so every read is bounds-checked,
//! compression pointers must point strictly backwards (no loops), names are at
//! most 255 bytes and at most [`MAX_ANSWERS`] answers are read. Malformed input
//! is an error, never a panic. Label bytes outside printable ASCII, and `.` and
//! `\` inside a label, are written `\DDD` (decimal, as in zone files), so
//! names are lossless and two different names never look the same.

use std::fmt::Write as _;
use std::net::{Ipv4Addr, Ipv6Addr};

use harrier_events::DnsRecord;

/// Most answers read from one response; more are skipped (the response is then incomplete).
pub const MAX_ANSWERS: usize = 64;
/// Longest name on the wire (RFC 1035 §2.3.4).
const MAX_NAME: usize = 255;
/// Most compression pointers followed in one name.
const MAX_JUMPS: usize = 32;
/// Size of the fixed header.
const HEADER: usize = 12;

/// RR type A.
pub const TYPE_A: u16 = 1;
/// RR type CNAME.
pub const TYPE_CNAME: u16 = 5;
/// RR type AAAA.
pub const TYPE_AAAA: u16 = 28;

/// Why a message could not be parsed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum DnsError {
    /// The message ends before what it announces.
    #[error("DNS message truncated at byte {0}")]
    Truncated(usize),
    /// A response was expected and the QR bit is clear (or the reverse).
    #[error("DNS message has the wrong QR bit for its direction")]
    WrongDirection,
    /// No question section.
    #[error("DNS message has no question")]
    NoQuestion,
    /// A compression pointer that does not point strictly backwards, or too many of them.
    #[error("DNS name at byte {0} has a bad compression pointer")]
    BadPointer(usize),
    /// A label type other than a plain label or a pointer (0x40, 0x80).
    #[error("DNS name at byte {0} has an unsupported label type")]
    BadLabel(usize),
    /// A name longer than 255 bytes.
    #[error("DNS name at byte {0} is longer than 255 bytes")]
    NameTooLong(usize),
    /// An A or AAAA record whose data is not 4 or 16 bytes.
    #[error("DNS record at byte {0} has data of the wrong length for its type")]
    BadRecord(usize),
}

/// A parsed response.
#[derive(Debug, Clone, PartialEq)]
pub struct Response {
    /// The first question's name.
    pub query: String,
    /// The first question's type.
    pub query_type: u16,
    /// Response code (low 4 bits of the flags).
    pub rcode: u16,
    /// A, AAAA and CNAME answers, in message order.
    pub answers: Vec<DnsRecord>,
    /// Whether the whole answer section was read: false when it was cut (the
    /// capture's bound, more than [`MAX_ANSWERS`]) or malformed after the question.
    pub complete: bool,
}

/// The first question of a query: name and type.
pub fn parse_query(msg: &[u8]) -> Result<(String, u16), DnsError> {
    let (flags, questions) = header(msg)?;
    if flags & 0x8000 != 0 {
        return Err(DnsError::WrongDirection);
    }
    if questions == 0 {
        return Err(DnsError::NoQuestion);
    }
    let (name, qtype, _) = question(msg, HEADER)?;
    Ok((name, qtype))
}

/// A response: question, rcode and the A/AAAA/CNAME answers. An error in the
/// header or question is an error; one in the answer section keeps the
/// answers before it and marks the response incomplete.
pub fn parse_response(msg: &[u8]) -> Result<Response, DnsError> {
    let (flags, questions) = header(msg)?;
    if flags & 0x8000 == 0 {
        return Err(DnsError::WrongDirection);
    }
    if questions == 0 {
        return Err(DnsError::NoQuestion);
    }
    let (query, query_type, mut at) = question(msg, HEADER)?;
    // Further questions (rare) are skipped.
    for _ in 1..questions.min(8) {
        at = question(msg, at)?.2;
    }
    let announced = u16_at(msg, 6)? as usize;
    let mut answers = Vec::new();
    let mut complete = announced <= MAX_ANSWERS;
    for _ in 0..announced.min(MAX_ANSWERS) {
        match record(msg, at) {
            Ok((rec, next)) => {
                at = next;
                answers.extend(rec);
            }
            Err(_) => {
                complete = false;
                break;
            }
        }
    }
    Ok(Response {
        query,
        query_type,
        rcode: flags & 0x000f,
        answers,
        complete,
    })
}

/// Flags and question count.
fn header(msg: &[u8]) -> Result<(u16, u16), DnsError> {
    if msg.len() < HEADER {
        return Err(DnsError::Truncated(msg.len()));
    }
    Ok((u16_at(msg, 2)?, u16_at(msg, 4)?))
}

/// A question at `at`: name, type and the offset after it (class skipped).
fn question(msg: &[u8], at: usize) -> Result<(String, u16, usize), DnsError> {
    let (name, at) = name(msg, at)?;
    let qtype = u16_at(msg, at)?;
    u16_at(msg, at + 2)?;
    Ok((name, qtype, at + 4))
}

/// A resource record at `at`: the record if it is A, AAAA or CNAME, and the offset after it.
fn record(msg: &[u8], at: usize) -> Result<(Option<DnsRecord>, usize), DnsError> {
    let (owner, at) = name(msg, at)?;
    let record_type = u16_at(msg, at)?;
    let ttl = u32_at(msg, at + 4)?;
    let len = u16_at(msg, at + 8)? as usize;
    let data_at = at + 10;
    let end = data_at + len;
    let data = msg
        .get(data_at..end)
        .ok_or(DnsError::Truncated(msg.len()))?;
    let value = match record_type {
        TYPE_A => {
            let octets: [u8; 4] = data.try_into().map_err(|_| DnsError::BadRecord(at))?;
            Ipv4Addr::from(octets).to_string()
        }
        TYPE_AAAA => {
            let octets: [u8; 16] = data.try_into().map_err(|_| DnsError::BadRecord(at))?;
            Ipv6Addr::from(octets).to_string()
        }
        TYPE_CNAME => {
            let (target, target_end) = name(msg, data_at)?;
            if target_end != end {
                return Err(DnsError::BadRecord(at));
            }
            target
        }
        _ => return Ok((None, end)),
    };
    Ok((
        Some(DnsRecord {
            name: owner,
            record_type,
            ttl,
            value,
        }),
        end,
    ))
}

/// A (possibly compressed) name at `at`, dotted without the trailing dot ("" for
/// the root), and the offset after it in the message.
fn name(msg: &[u8], start: usize) -> Result<(String, usize), DnsError> {
    let mut out = String::new();
    let mut at = start;
    // Where parsing resumes once the name is read: after the first pointer.
    let mut resume = None;
    let mut jumps = 0;
    let mut wire_len = 1;
    // Every pointer must land before where the previous one landed (or before
    // the name's start), so a name cannot loop.
    let mut floor = start;
    loop {
        let len = *msg.get(at).ok_or(DnsError::Truncated(msg.len()))? as usize;
        match len & 0xc0 {
            0x00 if len == 0 => break,
            0x00 => {
                let label = msg
                    .get(at + 1..at + 1 + len)
                    .ok_or(DnsError::Truncated(msg.len()))?;
                wire_len += 1 + len;
                if wire_len > MAX_NAME {
                    return Err(DnsError::NameTooLong(start));
                }
                if !out.is_empty() {
                    out.push('.');
                }
                push_label(&mut out, label);
                at += 1 + len;
            }
            0xc0 => {
                let low = *msg.get(at + 1).ok_or(DnsError::Truncated(msg.len()))? as usize;
                let target = ((len & 0x3f) << 8) | low;
                jumps += 1;
                if target >= floor || jumps > MAX_JUMPS {
                    return Err(DnsError::BadPointer(at));
                }
                floor = target;
                resume.get_or_insert(at + 2);
                at = target;
            }
            _ => return Err(DnsError::BadLabel(at)),
        }
    }
    Ok((out, resume.unwrap_or(at + 1)))
}

/// Append a label, escaping bytes that would make the dotted name ambiguous.
fn push_label(out: &mut String, label: &[u8]) {
    for &b in label {
        if b.is_ascii_graphic() && b != b'.' && b != b'\\' {
            out.push(b as char);
        } else {
            let _ = write!(out, "\\{b:03}");
        }
    }
}

fn u16_at(msg: &[u8], at: usize) -> Result<u16, DnsError> {
    msg.get(at..at + 2)
        .map(|b| u16::from_be_bytes([b[0], b[1]]))
        .ok_or(DnsError::Truncated(msg.len()))
}

fn u32_at(msg: &[u8], at: usize) -> Result<u32, DnsError> {
    msg.get(at..at + 4)
        .map(|b| u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
        .ok_or(DnsError::Truncated(msg.len()))
}

#[cfg(test)]
mod tests;
