//! Hist triggers: in-kernel aggregation of an event's fields (`hist:keys=…:vals=…`), the
//! in-kernel statistics bpftrace users know as maps, read back from the event's `hist` file as
//! typed rows. Dropped entries (a full table) surface as a count, never silently.
//! Linux 4.7+ with CONFIG_HIST_TRIGGERS.

use crate::error::{Error, Result};
use ktrace_core::ParseError;

/// A hist trigger definition.
///
/// ```
/// use ktrace_ftrace::hist::HistSpec;
/// let h = HistSpec::keys(&["id.syscall"]).vals(&["hitcount"]).sort("hitcount.descending").size(256)
///     .filter("common_pid == 42");
/// assert_eq!(h.to_string(), "hist:keys=id.syscall:vals=hitcount:sort=hitcount.descending:size=256 if common_pid == 42");
/// ```
#[doc(alias = "hist")]
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HistSpec {
    /// Key fields, with modifiers (`common_pid.execname`, `id.syscall`, `call_site.sym`, `bytes_req.log2`).
    pub keys: Vec<String>,
    /// Value fields summed per key (`hitcount` is always there).
    pub vals: Vec<String>,
    /// Sort keys (`hitcount.descending`).
    pub sort: Option<String>,
    /// Table size (entries; power of two).
    pub size: Option<u32>,
    /// Only events matching this filter.
    pub filter: Option<String>,
}

impl HistSpec {
    /// A histogram keyed on these fields.
    pub fn keys(keys: &[&str]) -> HistSpec {
        HistSpec { keys: keys.iter().map(|k| (*k).to_owned()).collect(), ..HistSpec::default() }
    }
    /// Value fields to sum.
    pub fn vals(mut self, vals: &[&str]) -> HistSpec {
        self.vals = vals.iter().map(|v| (*v).to_owned()).collect();
        self
    }
    /// Sort order.
    pub fn sort(mut self, s: &str) -> HistSpec {
        self.sort = Some(s.to_owned());
        self
    }
    /// Table size.
    pub fn size(mut self, n: u32) -> HistSpec {
        self.size = Some(n);
        self
    }
    /// Event filter.
    pub fn filter(mut self, f: &str) -> HistSpec {
        self.filter = Some(f.to_owned());
        self
    }
}

impl std::fmt::Display for HistSpec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "hist:keys={}", self.keys.join(","))?;
        if !self.vals.is_empty() {
            write!(f, ":vals={}", self.vals.join(","))?;
        }
        if let Some(s) = &self.sort {
            write!(f, ":sort={s}")?;
        }
        if let Some(n) = self.size {
            write!(f, ":size={n}")?;
        }
        if let Some(flt) = &self.filter {
            write!(f, " if {flt}")?;
        }
        Ok(())
    }
}

/// One key of a row, as the kernel prints it, with the number it carries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HistKey {
    /// Key name (`id`, `common_pid`).
    pub name: String,
    /// The printed value (`sys_getppid [110]`, `bash [1234]`, `12`).
    pub text: String,
    /// The numeric value: the bracketed number when there is one (syscall number, pid), else the
    /// value itself when it is a number (decimal or 0x hex).
    pub value: Option<u64>,
}

/// One row: keys and summed values (`hitcount` included).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HistRow {
    /// Keys, in the trigger's order.
    pub keys: Vec<HistKey>,
    /// `(name, sum)` of each value field.
    pub vals: Vec<(String, u64)>,
}

impl HistRow {
    /// A value by name (`hitcount`).
    pub fn val(&self, name: &str) -> Option<u64> {
        self.vals.iter().find(|(n, _)| n == name).map(|(_, v)| *v)
    }
    /// A key by name.
    pub fn key(&self, name: &str) -> Option<&HistKey> {
        self.keys.iter().find(|k| k.name == name)
    }
}

/// A parsed `hist` file.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Hist {
    /// The trigger as the kernel shows it (`# trigger info:` line).
    pub trigger: String,
    /// The rows, in the kernel's (sort) order.
    pub rows: Vec<HistRow>,
    /// `Hits` total.
    pub hits: u64,
    /// `Entries` total.
    pub entries: u64,
    /// Events not counted because the table was full (`Dropped`).
    pub dropped: u64,
}

fn number(s: &str) -> Option<u64> {
    let s = s.trim();
    match s.strip_prefix("0x") {
        Some(h) => u64::from_str_radix(h, 16).ok(),
        None => s.parse().ok(),
    }
}

/// Splits `a: x, b: y [1], c: z` at the commas that start a new `name:` (values may hold commas).
fn split_keys(inner: &str) -> Vec<(&str, &str)> {
    let mut out = Vec::new();
    let mut rest = inner.trim();
    while let Some((name, after)) = rest.split_once(':') {
        // The value runs to the next ", name:" or to the end.
        let mut end = after.len();
        let mut search = 0;
        while let Some(i) = after.get(search..).and_then(|a| a.find(", ")) {
            let at = search + i;
            let tail = after.get(at + 2..).unwrap_or_default();
            if tail.split_once(':').is_some_and(|(n, _)| {
                !n.is_empty() && n.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '.')
            }) {
                end = at;
                break;
            }
            search = at + 2;
        }
        out.push((name.trim(), after.get(..end).unwrap_or_default().trim()));
        rest = after.get(end..).unwrap_or_default().trim_start_matches(", ").trim();
        if end == after.len() {
            break;
        }
    }
    out
}

impl Hist {
    /// Parses the text of an event's `hist` file (one hist trigger). Lines it does not know are
    /// skipped; a row that does not parse is an error naming its line.
    pub fn parse(text: &str) -> std::result::Result<Hist, ParseError> {
        let mut h = Hist::default();
        for (n, line) in text.lines().enumerate() {
            let l = line.trim();
            if let Some(t) = l.strip_prefix("# trigger info:") {
                h.trigger = t.trim().to_owned();
            } else if let Some(v) = l.strip_prefix("Hits:") {
                h.hits = number(v).unwrap_or(0);
            } else if let Some(v) = l.strip_prefix("Entries:") {
                h.entries = number(v).unwrap_or(0);
            } else if let Some(v) = l.strip_prefix("Dropped:") {
                h.dropped = number(v).unwrap_or(0);
            } else if let Some(body) = l.strip_prefix('{') {
                let bad = || ParseError::BadValue {
                    offset: n,
                    what: "hist row",
                    expected: "{ key: value, … } name: number …",
                    found: l.len() as u64,
                };
                let (inner, vals) = body.rsplit_once('}').ok_or_else(bad)?;
                let keys = split_keys(inner)
                    .into_iter()
                    .map(|(name, text)| {
                        let bracket =
                            text.rsplit_once('[').and_then(|(_, b)| b.split_once(']')).and_then(|(v, _)| number(v));
                        HistKey {
                            name: name.to_owned(),
                            text: text.to_owned(),
                            value: bracket.or_else(|| number(text)),
                        }
                    })
                    .collect();
                let mut words = vals.split_whitespace();
                let mut vs = Vec::new();
                while let (Some(name), Some(v)) = (words.next(), words.next()) {
                    let name = name.strip_suffix(':').ok_or_else(bad)?;
                    vs.push((name.to_owned(), number(v).ok_or_else(bad)?));
                }
                h.rows.push(HistRow { keys, vals: vs });
            }
        }
        Ok(h)
    }

    /// The table's drops as a lost-event record (none when nothing was dropped).
    pub fn lost(&self) -> Option<ktrace_core::Lost> {
        (self.dropped > 0).then_some(ktrace_core::Lost {
            source: ktrace_core::LostSource::Hist,
            cpu: u32::MAX,
            count: Some(self.dropped),
            timestamp_ns: 0,
        })
    }
}

impl crate::Instance {
    /// Adds a hist trigger to an event (removed when the instance guard closes). A kernel without
    /// hist triggers is [`Error::Unsupported`]; a rejected spec is [`Error::Filter`] with the
    /// kernel's `error_log` text.
    pub fn add_hist(&self, system: &str, name: &str, spec: &HistSpec) -> Result<()> {
        let hist = self.path().join(format!("events/{system}/{name}/hist"));
        if !hist.exists() {
            return Err(Error::Unsupported {
                feature: "hist triggers (CONFIG_HIST_TRIGGERS)".into(),
                hint: format!("no {}", hist.display()),
            });
        }
        self.set_trigger(system, name, &spec.to_string())
    }

    /// Reads and parses an event's `hist` file.
    pub fn read_hist(&self, system: &str, name: &str) -> Result<Hist> {
        Ok(Hist::parse(&self.read(&format!("events/{system}/{name}/hist"))?)?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_rows_keys_and_totals() {
        let text = "# event histogram\n#\n# trigger info: hist:keys=common_pid.execname,id.syscall:vals=hitcount:sort=hitcount:size=2048 [active]\n#\n\n{ common_pid: python3         [      4242], id: sys_getppid                   [110] } hitcount:        100\n{ common_pid: bash, x [        7], id: 0x10 } hitcount:          3  bytes: 4096\n\nTotals:\n    Hits: 103\n    Entries: 2\n    Dropped: 5\n";
        let h = Hist::parse(text).unwrap();
        assert!(h.trigger.starts_with("hist:keys=common_pid.execname"));
        assert_eq!((h.hits, h.entries, h.dropped, h.rows.len()), (103, 2, 5, 2));
        let r = &h.rows[0];
        assert_eq!(r.key("common_pid").unwrap().value, Some(4242));
        assert_eq!(r.key("id").unwrap().value, Some(110));
        assert!(r.key("id").unwrap().text.starts_with("sys_getppid"));
        assert_eq!(r.val("hitcount"), Some(100));
        let r = &h.rows[1];
        assert_eq!(r.key("common_pid").unwrap().text, "bash, x [        7]");
        assert_eq!((r.key("id").unwrap().value, r.val("bytes")), (Some(16), Some(4096)));
        assert_eq!(h.lost().unwrap().count, Some(5));
        assert!(Hist::parse("{ a: 1 } hitcount").is_ok());
        assert!(matches!(Hist::parse("{ a: 1 hitcount: x"), Err(ParseError::BadValue { .. })));
        for cut in 0..text.len() {
            if text.is_char_boundary(cut) {
                let _ = Hist::parse(&text[..cut]);
            }
        }
    }
}
