//! USDT probes (SystemTap SDT, `sys/sdt.h`, used by DTRACE_PROBE in many programs): the
//! `.note.stapsdt` notes, their argument specs translated to uprobe fetch args.

#[cfg(feature = "elf")]
use crate::elf::Binary;
#[cfg(feature = "elf")]
use crate::error::Result;
use ktrace_core::{Cursor, ParseError};

use crate::probe::{ArgType, FetchArg};

/// One USDT probe site.
#[doc(alias = "stapsdt")]
#[doc(alias = "NT_STAPSDT")]
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UsdtProbe {
    /// Provider (`libc`, `python`…).
    pub provider: String,
    /// Probe name.
    pub name: String,
    /// The site's link-time address (adjusted for prelink via `.stapsdt.base`).
    pub pc: u64,
    /// Semaphore address (0 when none).
    pub semaphore: u64,
    /// The argument spec, e.g. `-4@%edi 8@%rax 4@-20(%rbp)`.
    pub args: String,
}

/// One ELF note: its type, owner name (without the NUL) and descriptor; the cursor advances
/// past the note's 4-byte padding.
fn note<'a>(c: &mut Cursor<'a>) -> Result<(u32, &'a [u8], Cursor<'a>), ParseError> {
    let (namesz, descsz, ty) = (c.u32_le()? as usize, c.u32_le()? as usize, c.u32_le()?);
    let owner = c.split(namesz.div_ceil(4) * 4)?.bytes(namesz.saturating_sub(1))?;
    let desc = c.split(descsz.div_ceil(4) * 4)?.split(descsz)?;
    Ok((ty, owner, desc))
}

/// A `stapsdt` descriptor: pc, link-time base, semaphore (u64 each), then provider, name and
/// argument spec as NUL-terminated strings.
fn stapsdt(d: &mut Cursor<'_>) -> Result<(u64, u64, u64, [String; 3]), ParseError> {
    let (pc, base, sem) = (d.u64_le()?, d.u64_le()?, d.u64_le()?);
    let mut s = || d.cstr().map(|b| String::from_utf8_lossy(b).into_owned());
    Ok((pc, base, sem, [s()?, s()?, s()?]))
}

/// Parses `.note.stapsdt` section bytes (64-bit little-endian). Malformed notes end the list.
#[doc(alias = "NT_STAPSDT")]
pub fn parse_notes(data: &[u8], base_note: Option<u64>, base_actual: Option<u64>) -> Vec<UsdtProbe> {
    let mut out = Vec::new();
    let mut c = Cursor::new(data);
    while let Ok((ty, owner, mut desc)) = note(&mut c) {
        if ty == 3
            && owner == b"stapsdt"
            && let Ok((pc, base, sem, [provider, name, args])) = stapsdt(&mut desc)
        {
            let adjust = match (base_actual, base_note.or(Some(base))) {
                (Some(actual), Some(b)) => actual.wrapping_sub(b),
                _ => 0,
            };
            out.push(UsdtProbe {
                provider,
                name,
                pc: pc.wrapping_add(adjust),
                semaphore: if sem == 0 { 0 } else { sem.wrapping_add(adjust) },
                args,
            });
        }
    }
    out
}

/// The USDT probes of a binary.
#[cfg(feature = "elf")]
pub fn probes(bin: &Binary) -> Result<Vec<UsdtProbe>> {
    let Some((_, notes)) = bin.section(".note.stapsdt")? else { return Ok(Vec::new()) };
    let base = bin.section(".stapsdt.base")?.map(|(a, _)| a);
    Ok(parse_notes(&notes, None, base))
}

/// Translates one SDT argument (`-4@%edi`, `8@-20(%rbp)`, `4@$42`) to a uprobe fetch arg.
pub fn translate_arg(name: &str, spec: &str) -> Option<FetchArg> {
    let (size, loc) = spec.split_once('@')?;
    let size: i32 = size.parse().ok()?;
    // SDT operands are 1, 2, 4 or 8 bytes (negative: signed); anything else is a corrupt note.
    let bits = match size.unsigned_abs() {
        n @ (1 | 2 | 4 | 8) => n as u8 * 8,
        _ => return None,
    };
    let ty = if size < 0 { ArgType::S(bits) } else { ArgType::U(bits) };
    let fetch = if let Some(imm) = loc.strip_prefix('$') {
        format!("\\{imm}")
    } else if let Some(open) = loc.find('(') {
        let off = loc.get(..open)?;
        let reg = reg(loc.get(open + 1..)?.trim_end_matches(')'))?;
        let off = if off.is_empty() { "0" } else { off };
        let off = if off.starts_with('-') { off.to_owned() } else { format!("+{off}") };
        format!("{off}({reg})")
    } else {
        reg(loc)?.to_owned()
    };
    Some(FetchArg::new(name, &fetch, Some(ty)))
}

/// x86_64 register names as uprobes spell them.
fn reg(r: &str) -> Option<&'static str> {
    Some(match r.trim_start_matches('%') {
        "rax" | "eax" | "ax" | "al" => "%ax",
        "rbx" | "ebx" | "bx" | "bl" => "%bx",
        "rcx" | "ecx" | "cx" | "cl" => "%cx",
        "rdx" | "edx" | "dx" | "dl" => "%dx",
        "rsi" | "esi" | "si" | "sil" => "%si",
        "rdi" | "edi" | "di" | "dil" => "%di",
        "rbp" | "ebp" | "bp" | "bpl" => "%bp",
        "rsp" | "esp" | "sp" | "spl" => "%sp",
        "rip" => "%ip",
        // r8..r15 and their 32/16/8-bit parts r8d, r8w, r8b.
        r => {
            let n = r.strip_prefix('r')?;
            let n = n.strip_suffix(['d', 'w', 'b']).unwrap_or(n);
            const R: [&str; 8] = ["%r8", "%r9", "%r10", "%r11", "%r12", "%r13", "%r14", "%r15"];
            R.into_iter().find(|r| r.strip_prefix("%r") == Some(n))?
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    #[test]
    fn translates_args() {
        assert_eq!(translate_arg("arg1", "-4@%edi").unwrap().to_string_spec(), "%di:s32");
        assert_eq!(translate_arg("arg2", "8@-20(%rbp)").unwrap().to_string_spec(), "-20(%bp):u64");
        assert_eq!(translate_arg("arg3", "8@8(%rsp)").unwrap().to_string_spec(), "+8(%sp):u64");
        assert_eq!(translate_arg("a", "4@$42").unwrap().to_string_spec(), "\\42:u32");
        assert!(translate_arg("a", "4@%xmm0").is_none());
        assert!(translate_arg("a", "junk").is_none());
        assert_eq!(translate_arg("a", "-1@%al").unwrap().to_string_spec(), "%ax:s8");
        assert_eq!(translate_arg("a", "8@%r8").unwrap().to_string_spec(), "%r8:u64");
        assert_eq!(translate_arg("a", "-4@%r15d").unwrap().to_string_spec(), "%r15:s32");
        assert_eq!(translate_arg("a", "2@%r10w").unwrap().to_string_spec(), "%r10:u16");
        for spec in ["8@%r7", "8@%r16", "8@%r08", "8@%r8q", "8@%rdd"] {
            assert!(translate_arg("a", spec).is_none(), "{spec}");
        }
    }

    /// Found by cargo-fuzz (`usdt_notes`): a size of 690310596 overflowed `size * 8` (a panic with
    /// overflow checks) and 32 truncated to a 0-bit type; sizes other than 1, 2, 4, 8 are refused.
    #[test]
    fn odd_operand_sizes_are_refused() {
        for spec in ["690310596@%rdi", "-2147483648@%rdi", "32@%rdi", "3@%rdi", "0@%rdi"] {
            assert!(translate_arg("a", spec).is_none(), "{spec}");
        }
    }

    #[test]
    fn parses_a_note_and_survives_garbage() {
        let mut desc = Vec::new();
        desc.extend_from_slice(&0x1130u64.to_le_bytes());
        desc.extend_from_slice(&0x2000u64.to_le_bytes());
        desc.extend_from_slice(&0u64.to_le_bytes());
        desc.extend_from_slice(b"prov\0hello\0-4@%edi\0");
        let mut n = Vec::new();
        n.extend_from_slice(&8u32.to_le_bytes());
        n.extend_from_slice(&(desc.len() as u32).to_le_bytes());
        n.extend_from_slice(&3u32.to_le_bytes());
        n.extend_from_slice(b"stapsdt\0");
        n.extend_from_slice(&desc);
        while n.len() % 4 != 0 {
            n.push(0);
        }
        let p = parse_notes(&n, None, Some(0x2010));
        assert_eq!(p.len(), 1);
        assert_eq!((p[0].provider.as_str(), p[0].name.as_str(), p[0].pc), ("prov", "hello", 0x1140));
        for cut in 0..n.len() {
            let _ = parse_notes(&n[..cut], None, None);
        }
        let mut bad = n.clone();
        bad[4] = 0xff;
        let _ = parse_notes(&bad, None, None);
    }
}
