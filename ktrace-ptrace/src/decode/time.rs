//! Times: `struct timespec` fields, and the ISO dates strace prints beside them.

use super::*;

/// A `struct timespec` or `struct timeval` at `off` in `b`: `{tv_sec=1, tv_nsec=5}`.
pub(super) fn time_pair(b: &[u8], off: usize, sub: &'static str) -> Value {
    Value::Struct {
        fields: vec![("tv_sec", Value::Int(field(b, off, 8) as i64)), (sub, Value::Uint(field(b, off + 8, 8)))],
        more: false,
    }
}

/// A time field as strace shows it: the seconds, then the date as a comment.
pub(super) fn time_field(b: &[u8], off: usize, nsec_off: usize) -> Value {
    let secs = field(b, off, 8) as i64;
    dated(Value::Int(secs), iso_time(secs, Some(field(b, nsec_off, 8))))
}

/// `v` with the date strace comments it with, if any.
pub(super) fn dated(v: Value, date: Option<String>) -> Value {
    match date {
        Some(d) => Value::Commented(Box::new(v), d),
        None => v,
    }
}

/// A time as strace comments it, in UTC: `2017-04-16T16:05:06+0000`, with nanoseconds when given
/// (`…06.123456789+0000`).
/// `None` where strace prints no date: for 0, or nanoseconds out of range.
pub fn iso_time(secs: i64, nsec: Option<u64>) -> Option<String> {
    if (secs == 0 && nsec.unwrap_or(0) == 0) || nsec.is_some_and(|n| n > 999_999_999) {
        return None;
    }
    // Days to civil date (Howard Hinnant's algorithm).
    let (days, rem) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    // The C library's `struct tm` holds the year in an int: strace prints no date beyond.
    if i32::try_from(year - 1900).is_err() {
        return None;
    }
    let frac = nsec.filter(|&n| n > 0).map_or(String::new(), |n| format!(".{n:09}"));
    Some(format!("{year}-{month:02}-{day:02}T{:02}:{:02}:{:02}{frac}+0000", rem / 3600, rem / 60 % 60, rem % 60))
}
