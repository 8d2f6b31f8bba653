//! Integers in captures that every JSON parser reads exactly.
//!
//! A JSON number beyond ±(2^53 − 1) loses precision in JavaScript and in
//! every parser that reads numbers as doubles (`1764000000001000001`
//! becomes `1764000000001000000`). So captures write nanosecond times
//! (`time_ns`, `mtime_ns`) as decimal strings always, and any other integer
//! beyond that range as a decimal string too; readers take either form for
//! every integer field of the contract.

use serde_json::Value;

/// The largest magnitude a double holds exactly.
pub const MAX_SAFE_INTEGER: u64 = (1 << 53) - 1;

/// Fields written as strings whatever their value.
const ALWAYS_TEXT: [&str; 2] = ["time_ns", "mtime_ns"];

/// Rewrite, in place, the integers of a serialized event that must be
/// strings: the nanosecond times, and any beyond the exact range.
pub fn to_text(value: &mut Value) {
    walk(value, &mut |key, v| {
        let Value::Number(n) = v else { return };
        let unsafe_range = match (n.as_u64(), n.as_i64()) {
            (Some(u), _) => u > MAX_SAFE_INTEGER,
            (None, Some(i)) => i.unsigned_abs() > MAX_SAFE_INTEGER,
            _ => false,
        };
        if unsafe_range || ALWAYS_TEXT.contains(&key) {
            *v = Value::String(n.to_string());
        }
    });
}

include!("../../../wit/exact-ints.rs");

#[cfg(test)]
mod tests {
    use super::*;

    /// The integer fields of the contract, read off its text.
    fn contract_integer_fields() -> Vec<String> {
        let wit = include_str!("../../../wit/detector.wit");
        let mut keys: Vec<String> = wit
            .lines()
            .filter_map(|line| {
                let line = line.trim().trim_end_matches(',');
                let (name, ty) = line.split_once(':')?;
                let ty = ty
                    .trim()
                    .trim_start_matches("option<")
                    .trim_end_matches('>');
                let integer = ["u8", "u16", "u32", "u64", "s8", "s16", "s32", "s64"].contains(&ty);
                let field = !name.contains(' ') && !name.starts_with("//");
                (integer && field).then(|| name.trim_start_matches('%').replace('-', "_"))
            })
            .collect();
        keys.sort();
        keys.dedup();
        keys
    }

    #[test]
    fn integer_keys_are_the_contracts_integer_fields() {
        let mut ours: Vec<String> = INTEGER_KEYS.iter().map(|k| k.to_string()).collect();
        // `process-info` and `file-write-info` fields are host answers, not events.
        let mut contract = contract_integer_fields();
        contract.retain(|k| !["start_time_ns", "writer_pid"].contains(&k.as_str()));
        ours.sort();
        assert_eq!(ours, contract);
    }

    #[test]
    fn times_and_big_integers_become_strings_and_come_back() {
        let original = serde_json::json!({
            "seq": 7, "time_ns": 1764000000001000001_u64,
            "detail": {"Exec": {"inode": u64::MAX, "dev": 2049, "mtime_ns": 5, "args": ["1"]}},
            "result": -9007199254740993_i64,
        });
        let mut v = original.clone();
        to_text(&mut v);
        assert_eq!(v["time_ns"], "1764000000001000001");
        assert_eq!(v["detail"]["Exec"]["inode"], u64::MAX.to_string());
        assert_eq!(v["detail"]["Exec"]["mtime_ns"], "5");
        assert_eq!(v["detail"]["Exec"]["dev"], 2049);
        assert_eq!(v["result"], "-9007199254740993");
        assert_eq!(v["seq"], 7);
        from_text(&mut v);
        assert_eq!(v, original);
    }

    #[test]
    fn strings_that_are_not_integer_fields_stay_strings() {
        let mut v = serde_json::json!({"filename": "123", "args": ["456"], "pid": "x1"});
        from_text(&mut v);
        assert_eq!(
            v,
            serde_json::json!({"filename": "123", "args": ["456"], "pid": "x1"})
        );
    }
}
