//! `mini-strace -k` against `strace -k` on real programs: a C program built here with `cc -g -O0`
//! (a chain of functions making syscalls, also with `-y -e trace=`), `true`, `ls`, `python3`, a
//! shell running the C program and `ls` with `-f`, and Python threads with `-f`. Per process, the syscall and signal lines are paired in order (by name), and the stacks
//! after them compared frame by frame: the object and the offset in it (`[0x…]`, exact whatever the
//! address layout), the symbol name, and whether both name the same function (the same start in
//! the file, whatever the alias chosen).
//!
//! Where they differ by design: Debian's strace 6.1 unwinds with libunwind, which names a frame
//! from the nearest preceding symbol of the file's own tables only (libc is stripped: its internal
//! functions come out as the exported symbol before them, `__libc_init_first+0x8a` for
//! `__libc_start_call_main+0x7a`); mini-strace names them through the profiler's symbolizer,
//! from the separate debug file `libc6-dbg` installs, and picks among aliases as perf does
//! (`__GI___getppid` where strace says `getppid`). Both are printed, with the percentages.
#![allow(clippy::unwrap_used, clippy::indexing_slicing, clippy::panic, reason = "tests fail by panicking")]

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use ktrace_testing::installed;

/// Paired frames whose object and file offset are equal, at least (percent).
const MIN_SAME_FRAME: f64 = 95.0;
/// Paired frames, named by both, where both name the same function or strace's name is a symbol
/// before ours (see the module docs), at least (percent).
const MIN_AGREE: f64 = 99.0;

/// Debian's Python (a `python3` found first on PATH may be a shell shim, as pyenv's is).
const PY: &str = "/usr/bin/python3";

const CHAIN: &str = r#"
#include <fcntl.h>
#include <unistd.h>
static int leaf(int i) { return getppid() + i; }
int middle(int i) { int fd = open("/dev/null", O_RDONLY); close(fd); return leaf(i) + 1; }
int top(int i) { return middle(i) * 2; }
int main(void) { int s = 0; for (int i = 0; i < 3; i++) s += top(i); write(1, "x\n", 2); return s & 1; }
"#;

/// A syscall in a signal handler: its stack goes on through the signal frame to the interrupted code.
const SIGNAL: &str = r#"
#include <signal.h>
#include <unistd.h>
static void handler(int s) { getppid(); }
int work(void) { raise(SIGUSR1); return 0; }
int main(void) { signal(SIGUSR1, handler); return work(); }
"#;

/// One frame line: ` > OBJECT(SYMBOL+0xOFF) [0xFILE_OFFSET]`, ` > OBJECT() [0x…]`, or an end line.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Frame {
    object: String,
    symbol: Option<(String, u64)>,
    offset: u64,
}

fn hex(s: &str) -> Option<u64> {
    u64::from_str_radix(s.trim().strip_prefix("0x")?, 16).ok()
}

fn parse_frame(l: &str) -> Frame {
    let l = l.trim_start().strip_prefix("> ").unwrap();
    let (head, off) = l.rsplit_once(" [").unwrap_or((l, "0x0]"));
    let offset = hex(off.trim_end_matches(']')).unwrap_or(0);
    match head.rsplit_once('(') {
        Some((object, sym)) => {
            let sym = sym.trim_end_matches(')');
            let symbol =
                sym.rsplit_once('+').and_then(|(n, o)| Some((n.to_owned(), hex(o)?))).filter(|s| !s.0.is_empty());
            Frame { object: object.to_owned(), symbol, offset }
        }
        // ` > unexpected_backtracing_error [0x…]`, ` > too many stack frames`.
        None => Frame { object: head.to_owned(), symbol: None, offset },
    }
}

/// A trace line (its kind: the syscall's name, `---` or `+++`) and the frames printed after it.
#[derive(Debug)]
struct Block {
    kind: String,
    frames: Vec<Frame>,
}

/// Per process, in order of first appearance, its blocks, from a `-o` file (lines start with the
/// pid when several processes are traced).
fn parse(text: &str, multi: bool) -> Vec<Vec<Block>> {
    let mut order: Vec<i32> = Vec::new();
    let mut procs: HashMap<i32, Vec<Block>> = HashMap::new();
    let mut last = 0;
    for l in text.lines() {
        if l.starts_with(" > ") {
            if let Some(b) = procs.get_mut(&last).and_then(|v| v.last_mut()) {
                b.frames.push(parse_frame(l));
            }
            continue;
        }
        let (pid, rest) = match multi {
            true => {
                let (p, r) = l.split_once(' ').unwrap_or((l, ""));
                (p.parse().unwrap_or(0), r.trim_start())
            }
            false => (0, l),
        };
        // strace's `NAME(… <unfinished ...>` has no stack (it comes after `<... NAME resumed>`).
        if rest.ends_with("<unfinished ...>") {
            continue;
        }
        let rest = rest.strip_prefix("<... ").unwrap_or(rest);
        let kind = rest.split(['(', ' ']).next().unwrap_or("").to_owned();
        if !procs.contains_key(&pid) {
            order.push(pid);
        }
        procs.entry(pid).or_default().push(Block { kind, frames: Vec::new() });
        last = pid;
    }
    order.into_iter().map(|p| procs.remove(&p).unwrap()).collect()
}

/// The pairs of a longest common subsequence of the two kinds sequences.
fn pair<'a>(a: &'a [Block], b: &'a [Block]) -> Vec<(&'a Block, &'a Block)> {
    let (n, m) = (a.len(), b.len());
    let mut t = vec![0u32; (n + 1) * (m + 1)];
    for i in (0..n).rev() {
        for j in (0..m).rev() {
            t[i * (m + 1) + j] = if a[i].kind == b[j].kind {
                t[(i + 1) * (m + 1) + j + 1] + 1
            } else {
                t[(i + 1) * (m + 1) + j].max(t[i * (m + 1) + j + 1])
            };
        }
    }
    let (mut i, mut j, mut out) = (0, 0, Vec::new());
    while i < n && j < m {
        if a[i].kind == b[j].kind {
            out.push((&a[i], &b[j]));
            i += 1;
            j += 1;
        } else if t[(i + 1) * (m + 1) + j] >= t[i * (m + 1) + j + 1] {
            i += 1;
        } else {
            j += 1;
        }
    }
    out
}

#[derive(Default)]
struct Tally {
    blocks: usize,
    same_blocks: usize,
    frames: usize,
    same_frame: usize,
    named_both: usize,
    same_name: usize,
    same_function: usize,
    /// strace's name is a symbol before the function ours names (libunwind's nearest preceding
    /// symbol of the file's own tables, where the function itself is only in the debug file).
    earlier: usize,
    /// Named by one side only: (strace's, ours).
    only: (usize, usize),
    /// strace's name → ours, for frames at the same offset named differently.
    renamed: BTreeMap<(String, String), usize>,
    /// Frame counts that differ: (syscall, strace's, ours).
    lengths: BTreeMap<String, usize>,
}

impl Tally {
    fn add(&mut self, theirs: &Block, ours: &Block) {
        self.blocks += 1;
        let key = |f: &Frame| (f.object.clone(), f.offset);
        if theirs.frames.iter().map(key).eq(ours.frames.iter().map(key)) {
            self.same_blocks += 1;
        } else if theirs.frames.len() != ours.frames.len() {
            *self.lengths.entry(theirs.kind.clone()).or_default() += 1;
        }
        for (t, o) in theirs.frames.iter().zip(&ours.frames) {
            self.frames += 1;
            if key(t) != key(o) {
                continue;
            }
            self.same_frame += 1;
            match (&t.symbol, &o.symbol) {
                (Some(ts), Some(os)) => {
                    self.named_both += 1;
                    self.same_name += usize::from(ts.0 == os.0);
                    // The function's start in the file: the same for two aliases.
                    let (ta, oa) = (t.offset.checked_sub(ts.1), o.offset.checked_sub(os.1));
                    if ta == oa {
                        self.same_function += 1;
                    } else if ta < oa {
                        self.earlier += 1;
                    }
                    if ts.0 != os.0 {
                        *self.renamed.entry((ts.0.clone(), os.0.clone())).or_default() += 1;
                    }
                }
                (Some(_), None) => self.only.0 += 1,
                (None, Some(_)) => self.only.1 += 1,
                (None, None) => {}
            }
        }
    }

    fn pct(a: usize, b: usize) -> f64 {
        if b == 0 { 100.0 } else { 100.0 * a as f64 / b as f64 }
    }
}

/// Runs `strace -k` and `mini-strace -k` (with `-f` when `follow`) on `cmd`; their `-o` files.
fn run_both(dir: &Path, name: &str, follow: bool, cmd: &[&str]) -> (String, String) {
    let mut out = Vec::new();
    for (tool, exe) in [("strace", "strace"), ("mini", env!("CARGO_BIN_EXE_mini-strace"))] {
        let file = dir.join(format!("{name}.{tool}"));
        let mut c = Command::new(exe);
        c.arg("-k").args(follow.then_some("-f")).arg("-o").arg(&file).args(cmd);
        let st = c.current_dir(dir).stdout(Stdio::null()).stderr(Stdio::null()).status().unwrap();
        assert!(st.code().is_some(), "{tool} on {cmd:?}: {st}");
        out.push(std::fs::read_to_string(&file).unwrap());
    }
    let ours = out.pop().unwrap();
    (out.pop().unwrap(), ours)
}

/// `code` built with `cc -g -O0` as `dir/name`.
fn build(dir: &Path, name: &str, code: &str) -> PathBuf {
    let (src, exe) = (dir.join(format!("{name}.c")), dir.join(name));
    std::fs::write(&src, code).unwrap();
    let st = Command::new("cc").args(["-g", "-O0", "-o"]).arg(&exe).arg(&src).status().unwrap();
    assert!(st.success());
    exe
}

#[test]
fn stacks_match_strace() {
    let test = "stacks_match_strace";
    if !installed(test, &["strace", "-V"], "strace")
        || !installed(test, &["cc", "--version"], "gcc")
        || !installed(test, &[PY, "--version"], "python3")
    {
        return;
    }
    let dir = std::env::temp_dir().join(format!("ktrace-strace-stack-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let chain = build(&dir, "chain", CHAIN);
    let signal = build(&dir, "signal", SIGNAL);
    let chain_s = chain.to_str().unwrap();
    let script = format!("{chain_s}; ls / >/dev/null; true");
    let threads = "import threading, os\nts=[threading.Thread(target=os.getppid) for _ in range(3)]\n[t.start() for t in ts]\n[t.join() for t in ts]";
    let runs: [(&str, bool, Vec<&str>); 8] = [
        ("chain", false, vec![chain_s]),
        ("signal", false, vec![signal.to_str().unwrap()]),
        ("true", false, vec!["/bin/true"]),
        ("ls", false, vec!["ls", "-l", "/usr"]),
        ("python", false, vec![PY, "-c", "import os, json; os.getppid(); json.dumps([1]); open('/dev/null').close()"]),
        ("shell", true, vec!["sh", "-c", &script]),
        // Threads (-f), each with its own stack.
        ("threads", true, vec![PY, "-c", threads]),
        // With other options: a syscall filter and descriptor paths.
        ("options", false, vec!["-y", "-e", "trace=openat,getppid,write", chain_s]),
    ];
    let mut all = Tally::default();
    for (name, follow, cmd) in &runs {
        let (theirs, ours) = run_both(&dir, name, *follow, cmd);
        let (theirs, ours) = (parse(&theirs, *follow), parse(&ours, *follow));
        assert_eq!(theirs.len(), ours.len(), "{name}: processes");
        let mut t = Tally::default();
        for (tp, op) in theirs.iter().zip(&ours) {
            for (tb, ob) in pair(tp, op) {
                t.add(tb, ob);
                all.add(tb, ob);
            }
        }
        println!(
            "{name:>7}: {} lines paired, stacks identical (objects and offsets) {:.1}%, frames {:.1}% of {}, \
             same name {:.1}% / same function {:.1}% / strace's an earlier symbol {:.1}% of {} named by both, \
             named by strace only {}, by mini-strace only {}",
            t.blocks,
            Tally::pct(t.same_blocks, t.blocks),
            Tally::pct(t.same_frame, t.frames),
            t.frames,
            Tally::pct(t.same_name, t.named_both),
            Tally::pct(t.same_function, t.named_both),
            Tally::pct(t.earlier, t.named_both),
            t.named_both,
            t.only.0,
            t.only.1,
        );
        if *name == "chain" {
            // The program's own frames (its .symtab) are named exactly as strace names them.
            for (tp, op) in theirs.iter().zip(&ours) {
                for (tb, ob) in pair(tp, op) {
                    for (tf, of) in tb.frames.iter().zip(&ob.frames).filter(|(f, _)| f.object == chain_s) {
                        assert_eq!(tf, of, "{} in {}", tb.kind, chain_s);
                    }
                }
            }
        }
    }
    let mut renamed: Vec<_> = all.renamed.iter().collect();
    renamed.sort_by(|a, b| b.1.cmp(a.1));
    println!("named differently at the same offset (strace → mini-strace), most frequent first:");
    for ((t, o), n) in renamed.iter().take(15) {
        println!("  {n:>6}  {t} → {o}");
    }
    println!("syscalls whose stacks differ in length: {:?}", all.lengths);
    let frames = Tally::pct(all.same_frame, all.frames);
    let agree = Tally::pct(all.same_function + all.earlier, all.named_both);
    println!(
        "overall: stacks identical {:.1}% of {} lines; frames {frames:.1}% of {}; of {} named by both: same name \
         {:.1}%, same function {:.1}%, strace's an earlier symbol {:.1}% (together {agree:.1}%); named by strace only \
         {}, by mini-strace only {}",
        Tally::pct(all.same_blocks, all.blocks),
        all.blocks,
        all.frames,
        all.named_both,
        Tally::pct(all.same_name, all.named_both),
        Tally::pct(all.same_function, all.named_both),
        Tally::pct(all.earlier, all.named_both),
        all.only.0,
        all.only.1,
    );
    assert!(all.blocks > 500, "too few lines paired: {}", all.blocks);
    assert!(frames >= MIN_SAME_FRAME, "frames equal {frames:.1}% < {MIN_SAME_FRAME}%");
    assert!(agree >= MIN_AGREE, "same function or strace's an earlier symbol: {agree:.1}% < {MIN_AGREE}%");
    let _ = std::fs::remove_dir_all(&dir);
}

#[cfg(test)]
mod units {
    use super::*;

    #[test]
    fn frame_lines_parse() {
        let f = parse_frame(" > /usr/lib/x86_64-linux-gnu/libc.so.6(__getppid+0xb) [0xe8f4b]");
        assert_eq!(f.object, "/usr/lib/x86_64-linux-gnu/libc.so.6");
        assert_eq!(f.symbol, Some(("__getppid".into(), 0xb)));
        assert_eq!(f.offset, 0xe8f4b);
        assert_eq!(parse_frame(" > /usr/bin/dash() [0xd630]").symbol, None);
        assert_eq!(parse_frame(" > /usr/bin/dash(+0x0) [0xd630]").symbol, None);
        assert_eq!(parse_frame(" > unexpected_backtracing_error [0x41]").offset, 0x41);
    }
}
