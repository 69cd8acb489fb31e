//! speedscope's own file format (<https://www.speedscope.app/file-format-schema.json>): a
//! `sampled` profile of folded stacks, as ktrace-sample's `Profile::folded` makes them.

use std::collections::{BTreeMap, HashMap};
use std::io::Write;

use crate::error::Result;
use crate::json::{num, string};
use crate::names::Out;

/// Writes folded stacks (`"root;caller;leaf" -> samples`) as a speedscope file with one sampled
/// profile named `name`. Frames are shared; memory is the frame table and one output block.
///
/// ```
/// let mut folded = std::collections::BTreeMap::new();
/// folded.insert("main;work;spin".to_owned(), 90);
/// folded.insert("main;idle".to_owned(), 10);
/// let mut out = Vec::new();
/// ktrace_export::speedscope::write_folded(&folded, "demo", &mut out)?;
/// assert!(String::from_utf8(out)?.contains("\"spin\""));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn write_folded(folded: &BTreeMap<String, u64>, name: &str, w: impl Write) -> Result<()> {
    let mut out = Out::new(w, "the speedscope profile");
    let mut frames: HashMap<&str, usize> = HashMap::new();
    let mut order: Vec<&str> = Vec::new();
    let total: u64 = folded.values().sum();
    let b = &mut out.buf;
    b.extend_from_slice(
        b"{\"$schema\":\"https://www.speedscope.app/file-format-schema.json\",\"exporter\":\"ktrace\",\"name\":",
    );
    string(b, name.as_bytes());
    b.extend_from_slice(b",\"activeProfileIndex\":0,\"profiles\":[{\"type\":\"sampled\",\"name\":");
    string(b, name.as_bytes());
    b.extend_from_slice(b",\"unit\":\"none\",\"startValue\":0,\"endValue\":");
    num(b, total);
    b.extend_from_slice(b",\"samples\":[");
    for (i, stack) in folded.keys().enumerate() {
        let b = &mut out.buf;
        if i > 0 {
            b.push(b',');
        }
        b.push(b'[');
        for (j, f) in stack.split(';').enumerate() {
            let next = order.len();
            let k = *frames.entry(f).or_insert(next);
            if k == next {
                order.push(f);
            }
            if j > 0 {
                b.push(b',');
            }
            num(b, k);
        }
        b.push(b']');
        out.spill()?;
    }
    out.buf.extend_from_slice(b"],\"weights\":[");
    for (i, n) in folded.values().enumerate() {
        if i > 0 {
            out.buf.push(b',');
        }
        num(&mut out.buf, *n);
        out.spill()?;
    }
    out.buf.extend_from_slice(b"]}],\"shared\":{\"frames\":[");
    for (i, f) in order.iter().enumerate() {
        if i > 0 {
            out.buf.push(b',');
        }
        out.buf.extend_from_slice(b"{\"name\":");
        string(&mut out.buf, f.as_bytes());
        out.buf.push(b'}');
        out.spill()?;
    }
    out.buf.extend_from_slice(b"]}}\n");
    out.finish()
}
