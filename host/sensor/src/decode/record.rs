//! A raw record from the ring buffer, split into its header and items.

use std::borrow::Cow;
use std::cell::RefCell;
use std::fmt::Write as _;

use harrier_sensor_common::{
    HEADER_SIZE, ITEM_CUT, ITEM_HEADER_SIZE, ITEM_TRUNCATED, ItemHeader, REC_HAS_RESULT,
    RecordHeader, tag,
};

use super::DecodeError;
use super::path;

/// The component shown where a cut path left components out.
pub const GAP: &str = "\u{2026}";

/// Highest item tag the decoder indexes.
const MAX_TAG: usize = 40;

/// One item: payload bytes and whether the kernel cut them at their bound.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Item<'a> {
    /// Payload bytes.
    pub data: &'a [u8],
    /// The payload was cut at its bound.
    pub truncated: bool,
    /// A dentry path whose middle components were left out (see `ITEM_CUT`).
    pub cut: bool,
}

/// What decoding a string of a record found: cut, or not valid UTF-8.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Note {
    /// The string of item `tag` was cut at the sensor's bounds.
    Cut {
        /// Item tag (or [`COMM`]).
        tag: u8,
    },
    /// The path of item `tag` had `.`/`..` components or repeated slashes
    /// and was folded; `escaped` is what the process gave.
    Folded {
        /// Item tag.
        tag: u8,
        /// The path as given, escaped by [`escape_lossless`].
        escaped: String,
    },
    /// The string of item `tag` (argument `index` of argv) was not valid UTF-8.
    Raw {
        /// Item tag (or [`COMM`]).
        tag: u8,
        /// Position in the exec arguments, for argv.
        index: Option<usize>,
        /// The bytes, escaped by [`escape_lossless`].
        escaped: String,
    },
}

/// Pseudo item tag of the header's `comm`, for notes.
pub const COMM: u8 = 0;

/// A parsed record: the fixed header and its items indexed by tag.
#[derive(Debug)]
pub struct RawRecord<'a> {
    /// The fixed header.
    pub header: RecordHeader,
    items: [Option<Item<'a>>; MAX_TAG],
    notes: RefCell<Vec<Note>>,
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
                    cut: item.flags & ITEM_CUT != 0,
                });
            }
            off = start + ((item.len as usize + 7) & !7);
        }
        Ok(RawRecord {
            header,
            items,
            notes: RefCell::new(Vec::new()),
        })
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

    /// What decoding the strings found so far (taken: the list is emptied).
    pub fn take_notes(&self) -> Vec<Note> {
        std::mem::take(&mut *self.notes.borrow_mut())
    }

    /// Note that the string of `tag` was cut.
    pub fn note_cut(&self, tag: u8) {
        let note = Note::Cut { tag };
        let mut notes = self.notes.borrow_mut();
        if !notes.contains(&note) {
            notes.push(note);
        }
    }

    /// `bytes` as text (U+FFFD for bad sequences); when they are not valid
    /// UTF-8 their escaped form is noted under `tag` (and `index`).
    pub fn text(&self, tag: u8, index: Option<usize>, bytes: &[u8]) -> String {
        match std::str::from_utf8(bytes) {
            Ok(text) => text.to_string(),
            Err(_) => {
                self.notes.borrow_mut().push(Note::Raw {
                    tag,
                    index,
                    escaped: escape_lossless(bytes),
                });
                String::from_utf8_lossy(bytes).into_owned()
            }
        }
    }

    /// The bytes of a NUL-terminated string item (a cut one is noted).
    pub fn string_bytes(&self, tag: u8) -> Option<&'a [u8]> {
        let item = self.item(tag)?;
        if item.truncated {
            self.note_cut(tag);
        }
        Some(until_nul(item.data))
    }

    /// A NUL-terminated string item as text.
    pub fn string(&self, tag: u8) -> Option<String> {
        let bytes = self.string_bytes(tag)?;
        Some(self.text(tag, None, bytes))
    }

    /// The bytes of a path item made of dentry components (leaf first), as an
    /// absolute path; a cut or unfinished walk is noted.
    pub fn dpath_bytes(&self, tag: u8) -> Option<Vec<u8>> {
        let item = self.item(tag)?;
        if item.truncated || item.cut {
            self.note_cut(tag);
        }
        Some(join_components(item.data, item.cut))
    }

    /// A path item made of dentry components (leaf first), as an absolute path.
    pub fn dpath(&self, tag: u8) -> Option<String> {
        let bytes = self.dpath_bytes(tag)?;
        Some(self.text(tag, None, &bytes))
    }

    /// String argument `i` made absolute with its base directory when the
    /// kernel sent one, and folded (see [`RawRecord::path_text`]).
    pub fn path_arg(&self, i: u8) -> String {
        let tag = tag::STR0 + i;
        let Some(path) = self.string_bytes(tag) else {
            return String::new();
        };
        if path.starts_with(b"/") {
            return self.path_text(tag, None, path);
        }
        let base_tag = tag::BASE0 + i;
        let base = self.dpath_bytes(base_tag);
        if base.is_some() && self.item(base_tag).is_some_and(|b| b.truncated || b.cut) {
            self.note_cut(tag);
        }
        self.path_text(tag, base.as_deref(), path)
    }

    /// The path `given` for item `tag` (joined to `base` when relative and
    /// a base is known) as text, with `.`/`..` components and repeated
    /// slashes folded away: detectors match `/tmp/../etc/shadow` as the
    /// `/etc/shadow` it opens. When folding changed the path, what the
    /// process gave is noted verbatim (the event's `fidelity.folded`).
    pub fn path_text(&self, tag: u8, base: Option<&[u8]>, given: &[u8]) -> String {
        let joined = match base {
            Some(base) if !given.starts_with(b"/") => Cow::Owned(join_relative(base, given)),
            _ => Cow::Borrowed(given),
        };
        let Some(folded) = path::fold(&joined) else {
            return self.text(tag, None, &joined);
        };
        self.notes.borrow_mut().push(Note::Folded {
            tag,
            escaped: escape_lossless(given),
        });
        self.text(tag, None, &folded)
    }

    /// String argument `i` as given (not a path).
    pub fn str_arg(&self, i: u8) -> String {
        self.string(tag::STR0 + i).unwrap_or_default()
    }
}

/// Bytes up to the first NUL.
pub fn until_nul(bytes: &[u8]) -> &[u8] {
    let end = bytes.iter().position(|&b| b == 0).unwrap_or(bytes.len());
    &bytes[..end]
}

/// The lossless text form of `bytes`: valid UTF-8 as it is, each byte that is
/// not part of valid UTF-8 as `\xNN`, each backslash as `\\` (the WIT's `raw-string`).
pub fn escape_lossless(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len() + 8);
    for chunk in bytes.utf8_chunks() {
        for c in chunk.valid().chars() {
            if c == '\\' {
                out.push_str("\\\\");
            } else {
                out.push(c);
            }
        }
        for b in chunk.invalid() {
            let _ = write!(out, "\\x{b:02x}");
        }
    }
    out
}

/// Bytes up to the first NUL, lossy UTF-8.
pub fn cstr(bytes: &[u8]) -> String {
    String::from_utf8_lossy(until_nul(bytes)).into_owned()
}

/// Join NUL-terminated dentry components given leaf first into `/root/.../leaf`.
/// When `cut`, the first empty component separates the leaf part from the
/// components nearest the root, and becomes a [`GAP`] component.
pub fn join_components(bytes: &[u8], cut: bool) -> Vec<u8> {
    let mut parts: Vec<&[u8]> = Vec::new();
    let mut gap_seen = !cut;
    for part in bytes.split(|&b| b == 0) {
        if part.is_empty() && !gap_seen && !parts.is_empty() {
            gap_seen = true;
            parts.push(GAP.as_bytes());
        } else if !part.is_empty() && part != b"/" {
            parts.push(part);
        }
    }
    if parts.is_empty() {
        return b"/".to_vec();
    }
    let mut out = Vec::with_capacity(bytes.len() + 4);
    for part in parts.iter().rev() {
        out.push(b'/');
        out.extend_from_slice(part);
    }
    out
}

/// `base` + `/` + `rel`, dropping `./` prefixes of `rel`.
fn join_relative(base: &[u8], rel: &[u8]) -> Vec<u8> {
    let mut rel = rel;
    while let Some(rest) = rel.strip_prefix(b"./") {
        rel = rest;
    }
    let mut out = base.to_vec();
    if rel.is_empty() || rel == b"." {
        return out;
    }
    if !base.ends_with(b"/") {
        out.push(b'/');
    }
    out.extend_from_slice(rel);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn components_join_leaf_last() {
        assert_eq!(join_components(b"c\0b\0a\0", false), b"/a/b/c");
        assert_eq!(join_components(b"", false), b"/");
        assert_eq!(join_components(b"/\0", false), b"/");
    }

    #[test]
    fn a_cut_path_keeps_its_top_components_and_shows_the_gap() {
        let item = b"payload\0e\0\0e\0e\0shm\0dev\0";
        assert_eq!(
            String::from_utf8(join_components(item, true)).unwrap(),
            format!("/dev/shm/e/e/{GAP}/e/payload")
        );
    }

    #[test]
    fn relative_paths_join_base() {
        assert_eq!(join_relative(b"/tmp", b"./x"), b"/tmp/x");
        assert_eq!(join_relative(b"/", b"x"), b"/x");
        assert_eq!(join_relative(b"/a", b"."), b"/a");
        assert_eq!(join_relative(b"/a", b"../b"), b"/a/../b");
    }

    #[test]
    fn escaping_is_lossless() {
        assert_eq!(escape_lossless(b"plain"), "plain");
        assert_eq!(escape_lossless(b"a\xffb"), "a\\xffb");
        assert_ne!(escape_lossless(b"\xff"), escape_lossless(b"\xfe"));
        // A literal backslash-x is told from an escaped byte.
        assert_eq!(escape_lossless(b"\\xff\xff"), "\\\\xff\\xff");
        assert_eq!(escape_lossless(b"\xc3\xa9\xc3"), "é\\xc3");
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
