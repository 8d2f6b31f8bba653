//! A raw record from the ring buffer, split into its header and items.

use harrier_sensor_common::{
    HEADER_SIZE, ITEM_HEADER_SIZE, ITEM_TRUNCATED, ItemHeader, REC_HAS_RESULT, RecordHeader,
};

use super::DecodeError;

/// Highest item tag the decoder indexes.
const MAX_TAG: usize = 40;

/// One item: payload bytes and whether the kernel cut them at their bound.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Item<'a> {
    /// Payload bytes.
    pub data: &'a [u8],
    /// The payload was cut at its bound.
    pub truncated: bool,
}

/// A parsed record: the fixed header and its items indexed by tag.
#[derive(Debug)]
pub struct RawRecord<'a> {
    /// The fixed header.
    pub header: RecordHeader,
    items: [Option<Item<'a>>; MAX_TAG],
}

impl<'a> RawRecord<'a> {
    /// Split `bytes` into header and items, checking every length.
    pub fn parse(bytes: &'a [u8]) -> Result<Self, DecodeError> {
        if bytes.len() < HEADER_SIZE {
            return Err(DecodeError::Short {
                len: bytes.len(),
                need: HEADER_SIZE,
            });
        }
        // SAFETY: RecordHeader is plain integers; the length was checked; read_unaligned
        // copes with any alignment of the ring buffer slice.
        let header: RecordHeader =
            unsafe { std::ptr::read_unaligned(bytes.as_ptr() as *const RecordHeader) };
        let size = header.size as usize;
        if size < HEADER_SIZE || size > bytes.len() {
            return Err(DecodeError::BadSize {
                size,
                len: bytes.len(),
            });
        }
        let mut items = [None; MAX_TAG];
        let mut off = HEADER_SIZE;
        while off + ITEM_HEADER_SIZE <= size {
            // SAFETY: as above, bounds checked by the loop condition.
            let item: ItemHeader =
                unsafe { std::ptr::read_unaligned(bytes[off..].as_ptr() as *const ItemHeader) };
            let start = off + ITEM_HEADER_SIZE;
            let end = start + item.len as usize;
            if end > size {
                return Err(DecodeError::BadItem {
                    tag: item.tag,
                    offset: off,
                });
            }
            if (item.tag as usize) < MAX_TAG {
                items[item.tag as usize] = Some(Item {
                    data: &bytes[start..end],
                    truncated: item.flags & ITEM_TRUNCATED != 0,
                });
            }
            off = start + ((item.len as usize + 7) & !7);
        }
        Ok(RawRecord { header, items })
    }

    /// The item with this tag, if present.
    pub fn item(&self, tag: u8) -> Option<Item<'a>> {
        self.items.get(tag as usize).copied().flatten()
    }

    /// The syscall result, if this record comes from a syscall exit.
    pub fn result(&self) -> i64 {
        if self.header.flags & REC_HAS_RESULT != 0 {
            self.header.ret
        } else {
            0
        }
    }

    /// Raw argument `i`.
    pub fn arg(&self, i: usize) -> u64 {
        self.header.args[i]
    }

    /// A NUL-terminated string item, lossily decoded, with its truncation flag.
    pub fn string(&self, tag: u8) -> Option<(String, bool)> {
        let item = self.item(tag)?;
        Some((cstr(item.data), item.truncated))
    }

    /// A path item made of dentry components (leaf first), as an absolute path.
    pub fn dpath(&self, tag: u8) -> Option<String> {
        self.item(tag).map(|item| join_components(item.data))
    }

    /// String argument `i` made absolute with its base directory when the kernel sent one.
    pub fn path_arg(&self, i: u8) -> String {
        let Some((path, _)) = self.string(harrier_sensor_common::tag::STR0 + i) else {
            return String::new();
        };
        if path.starts_with('/') {
            return path;
        }
        match self.dpath(harrier_sensor_common::tag::BASE0 + i) {
            Some(base) => join_relative(&base, &path),
            None => path,
        }
    }

    /// String argument `i` as given (not a path).
    pub fn str_arg(&self, i: u8) -> String {
        self.string(harrier_sensor_common::tag::STR0 + i)
            .map(|(s, _)| s)
            .unwrap_or_default()
    }
}

/// Bytes up to the first NUL, lossy UTF-8.
pub fn cstr(bytes: &[u8]) -> String {
    let end = bytes.iter().position(|&b| b == 0).unwrap_or(bytes.len());
    String::from_utf8_lossy(&bytes[..end]).into_owned()
}

/// Join NUL-terminated dentry components given leaf first into `/root/.../leaf`.
pub fn join_components(bytes: &[u8]) -> String {
    let parts: Vec<&[u8]> = bytes
        .split(|&b| b == 0)
        .filter(|p| !p.is_empty() && *p != b"/")
        .collect();
    if parts.is_empty() {
        return "/".to_string();
    }
    let mut out = String::with_capacity(bytes.len() + 1);
    for part in parts.iter().rev() {
        out.push('/');
        out.push_str(&String::from_utf8_lossy(part));
    }
    out
}

/// `base` + `/` + `rel`, dropping `./` prefixes of `rel`.
pub fn join_relative(base: &str, rel: &str) -> String {
    let mut rel = rel;
    while let Some(rest) = rel.strip_prefix("./") {
        rel = rest;
    }
    if rel.is_empty() || rel == "." {
        return base.to_string();
    }
    if base.ends_with('/') {
        format!("{base}{rel}")
    } else {
        format!("{base}/{rel}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn components_join_leaf_last() {
        assert_eq!(join_components(b"c\0b\0a\0"), "/a/b/c");
        assert_eq!(join_components(b""), "/");
        assert_eq!(join_components(b"/\0"), "/");
    }

    #[test]
    fn relative_paths_join_base() {
        assert_eq!(join_relative("/tmp", "./x"), "/tmp/x");
        assert_eq!(join_relative("/", "x"), "/x");
        assert_eq!(join_relative("/a", "."), "/a");
        assert_eq!(join_relative("/a", "../b"), "/a/../b");
    }

    #[test]
    fn short_and_oversized_records_are_rejected() {
        assert!(matches!(
            RawRecord::parse(&[0u8; 8]),
            Err(DecodeError::Short { .. })
        ));
        let mut bytes = vec![0u8; HEADER_SIZE];
        bytes[..4].copy_from_slice(&(HEADER_SIZE as u32 + 1).to_ne_bytes());
        assert!(matches!(
            RawRecord::parse(&bytes),
            Err(DecodeError::BadSize { .. })
        ));
    }
}
