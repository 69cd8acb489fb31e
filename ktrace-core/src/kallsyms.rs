//! Kernel symbol tables in `/proc/kallsyms` text form, for resolving function-tracer addresses,
//! stack traces and sampled kernel IPs. The facades read the file; this module only parses text.

/// A sorted kernel symbol table.
#[doc(alias = "kallsyms")]
#[derive(Debug, Clone, Default)]
pub struct Kallsyms {
    syms: Vec<(u64, Box<str>, Option<Box<str>>)>,
}

impl Kallsyms {
    /// Parses kallsyms text (`ADDR TYPE NAME [MODULE]` lines); malformed lines are skipped.
    pub fn parse(text: &str) -> Kallsyms {
        let mut syms: Vec<_> = text
            .lines()
            .filter_map(|l| {
                let mut w = l.split_whitespace();
                let addr = u64::from_str_radix(w.next()?, 16).ok()?;
                let ty = w.next()?;
                if !matches!(ty, "t" | "T" | "w" | "W") {
                    return None;
                }
                let name = w.next()?;
                let module = w.next().map(|m| m.trim_matches(|c| c == '[' || c == ']').into());
                (addr != 0).then(|| (addr, name.into(), module))
            })
            .collect();
        syms.sort_by_key(|s| s.0);
        Kallsyms { syms }
    }

    /// Number of text symbols with real addresses (0 when addresses are hidden).
    pub fn len(&self) -> usize {
        self.syms.len()
    }

    /// True when there are no usable symbols.
    pub fn is_empty(&self) -> bool {
        self.syms.is_empty()
    }

    /// The symbol containing `addr`: `(name, offset, module)`.
    pub fn resolve(&self, addr: u64) -> Option<(&str, u64, Option<&str>)> {
        let i = self.syms.partition_point(|s| s.0 <= addr).checked_sub(1)?;
        let (a, n, m) = self.syms.get(i)?;
        Some((n, addr - a, m.as_deref()))
    }

    /// The address of a symbol by name.
    pub fn address_of(&self, name: &str) -> Option<u64> {
        self.syms.iter().find(|s| &*s.1 == name).map(|s| s.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    #[test]
    fn resolves() {
        let k = Kallsyms::parse(
            "ffffffff81000000 T _stext\nffffffff81000100 t foo\nffffffff81000200 d data\nffffffffc0000000 t bar [mymod]\n0000000000000000 T hidden\n",
        );
        assert_eq!(k.len(), 3);
        assert_eq!(k.resolve(0xffffffff81000104), Some(("foo", 4, None)));
        assert_eq!(k.resolve(0xffffffffc0000010), Some(("bar", 0x10, Some("mymod"))));
        assert_eq!(k.resolve(1), None);
        assert_eq!(k.address_of("foo"), Some(0xffffffff81000100));
    }
}
