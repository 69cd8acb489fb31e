//! Flame graphs of profiles: folded stacks ([`Profile::folded`](super::profile::Profile::folded))
//! rendered as an SVG by inferno (feature `flamegraph`).

use std::collections::BTreeMap;

use crate::error::{Error, Result};

/// Renders folded stacks as a flame graph SVG (inferno; feature `flamegraph`).
#[cfg(feature = "flamegraph")]
pub fn flamegraph(folded: &BTreeMap<String, u64>, title: &str, out: impl std::io::Write) -> Result<()> {
    let lines: Vec<String> = folded.iter().map(|(k, v)| format!("{k} {v}")).collect();
    let mut opts = inferno::flamegraph::Options::default();
    opts.title = title.to_owned();
    inferno::flamegraph::from_lines(&mut opts, lines.iter().map(String::as_str), out)
        .map_err(|e| Error::io("flamegraph", title, std::io::Error::other(e.to_string())))
}
