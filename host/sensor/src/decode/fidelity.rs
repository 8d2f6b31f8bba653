//! The event's `fidelity`: which strings the sensor cut or could not carry as
//! UTF-8, named as the WIT names their fields.

use harrier_events::{EventKind, Fidelity, RawString};
use harrier_sensor_common::tag;

use super::record::{COMM, Note};

/// The fidelity of an event of `kind` from what decoding its strings noted
/// (`None` when nothing was cut and every string was valid UTF-8).
pub fn of(kind: EventKind, notes: Vec<Note>) -> Option<Fidelity> {
    if notes.is_empty() {
        return None;
    }
    let mut fidelity = Fidelity {
        cut: Vec::new(),
        raw: Vec::new(),
        folded: Vec::new(),
    };
    for note in notes {
        match note {
            Note::Cut { tag } => {
                let field = field(kind, tag, None);
                if !fidelity.cut.contains(&field) {
                    fidelity.cut.push(field);
                }
            }
            Note::Folded { tag, escaped } => {
                first_per_field(&mut fidelity.folded, field(kind, tag, None), escaped)
            }
            Note::Raw {
                tag,
                index,
                escaped,
            } => first_per_field(&mut fidelity.raw, field(kind, tag, index), escaped),
        }
    }
    Some(fidelity)
}

/// Adds `field`'s escaped string unless the field is listed already.
fn first_per_field(list: &mut Vec<RawString>, field: String, escaped: String) {
    if !list.iter().any(|r| r.field == field) {
        list.push(RawString { field, escaped });
    }
}

/// The WIT name of the field item `t` of an event of `kind` decodes into.
fn field(kind: EventKind, t: u8, index: Option<usize>) -> String {
    let name = match t {
        COMM => "comm",
        tag::EXEC_FILENAME => "filename",
        tag::EXEC_ARGV | tag::EXEC_ARGV_TAIL => {
            return match index {
                Some(i) => format!("args[{i}]"),
                None => "args".to_string(),
            };
        }
        tag::EXEC_CWD => "cwd",
        tag::EXEC_EXE => "exe",
        t if t == tag::STR0 || t == tag::BASE0 => match kind {
            EventKind::FileRename => "old-path",
            EventKind::FileLink => "target",
            EventKind::Mount => "source",
            EventKind::MemfdCreate | EventKind::ModuleUnload => "name",
            _ => "path",
        },
        t if t == tag::STR0 + 1 || t == tag::BASE0 + 1 => match kind {
            EventKind::FileRename => "new-path",
            EventKind::FileLink => "link-path",
            EventKind::Mount | EventKind::Umount => "target",
            _ => "path",
        },
        t if t == tag::STR0 + 2 => "fs-type",
        tag::FD_PATH if kind == EventKind::ModuleLoad => "name",
        _ => "path",
    };
    name.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn notes_name_their_fields() {
        let f = of(
            EventKind::FileRename,
            vec![
                Note::Cut { tag: tag::STR0 + 1 },
                Note::Raw {
                    tag: tag::STR0,
                    index: None,
                    escaped: "/tmp/\\xff".into(),
                },
                Note::Cut {
                    tag: tag::BASE0 + 1,
                },
            ],
        )
        .unwrap();
        assert_eq!(f.cut, vec!["new-path"]);
        assert_eq!(f.raw.len(), 1);
        assert_eq!(
            (f.raw[0].field.as_str(), f.raw[0].escaped.as_str()),
            ("old-path", "/tmp/\\xff")
        );
        assert!(of(EventKind::Exec, Vec::new()).is_none());
        let f = of(
            EventKind::Exec,
            vec![Note::Raw {
                tag: tag::EXEC_ARGV,
                index: Some(3),
                escaped: "\\xfe".into(),
            }],
        )
        .unwrap();
        assert_eq!(f.raw[0].field, "args[3]");
    }
}
