//! Live: user stacks at syscall stops (feature `stack`) of a C program built here with `cc -g -O0`,
//! of threads, and of a tracee whose stack registers hold garbage.
#![allow(clippy::unwrap_used, clippy::indexing_slicing, clippy::panic, reason = "tests fail by panicking")]

use std::path::PathBuf;

use ktrace_ptrace::stack::{Stack, StackEnd};
use ktrace_ptrace::{Event, TraceCommand, Tracer};
use ktrace_testing::installed;

const CHAIN: &str = r#"
#include <signal.h>
#include <unistd.h>
static int leaf(int i) { return getppid() + i; }
int middle(int i) { return leaf(i) + 1; }
int top(int i) { return middle(i) * 2; }

/* getpid with the stack and frame pointers set to `sp` and `bp` for the call. */
static long getpid_on(void *sp, void *bp) {
    long r;
    __asm__ volatile(
        "mov %%rsp, %%r12\n\tmov %%rbp, %%r13\n\t"
        "mov %1, %%rsp\n\tmov %2, %%rbp\n\t"
        "mov $39, %%eax\n\tsyscall\n\t"
        "mov %%r12, %%rsp\n\tmov %%r13, %%rbp\n\t"
        : "=&a"(r) : "r"(sp), "r"(bp) : "rcx", "r11", "r12", "r13", "memory");
    return r;
}

static void handler(int sig) { (void)sig; getppid(); }
int work(void) { return raise(SIGUSR1); }

int main(int argc, char **argv) {
    int s = 0;
    if (argc > 1 && argv[1][0] == 's') {
        signal(SIGUSR1, handler);
        return work();
    }
    for (int i = 0; i < 3; i++) s += top(i);
    if (argc > 1) {
        static long junk[512];
        for (int i = 0; i < 512; i++) junk[i] = 0x4141414141414141L;
        getpid_on((void *)0x10, (void *)0x20);     /* unreadable */
        getpid_on(&junk[256], &junk[300]);         /* readable garbage */
    }
    return s & 1;
}
"#;

/// The chain program, built for `test`; `None` (a counted skip) without a C compiler.
fn chain(test: &str) -> Option<PathBuf> {
    if !installed(test, &["cc", "--version"], "gcc") {
        return None;
    }
    // One directory per test: the tests run in parallel, each building its own copy.
    let dir = std::env::temp_dir().join(format!("ktrace-stack-{}-{test}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let (src, exe) = (dir.join("chain.c"), dir.join("chain"));
    std::fs::write(&src, CHAIN).unwrap();
    let st = std::process::Command::new("cc").args(["-g", "-O0", "-o"]).arg(&exe).arg(&src).status().unwrap();
    assert!(st.success());
    Some(exe)
}

/// The stacks at each exit of syscall `name`, with the task.
fn stacks_at(mut t: Tracer, name: &str) -> Vec<(i32, Stack)> {
    let mut out = Vec::new();
    while let Some(ev) = t.next_event().unwrap() {
        if let Event::SyscallExit { pid, arch, nr, .. } = ev
            && arch.syscall_name(nr) == Some(name)
        {
            out.push((pid, t.stack(pid).unwrap()));
        }
    }
    out
}

fn names(s: &Stack) -> Vec<&str> {
    s.frames.iter().map(|f| f.symbol.as_ref().map_or("?", |s| s.name.as_str())).collect()
}

#[test]
fn a_chain_of_functions_is_walked_and_named() {
    let Some(exe) = chain("a_chain_of_functions_is_walked_and_named") else { return };
    let stacks = stacks_at(TraceCommand::new(&exe).spawn().unwrap(), "getppid");
    assert_eq!(stacks.len(), 3);
    let exe = exe.to_str().unwrap();
    for (_, s) in &stacks {
        let n = names(s);
        // libc's getppid, the program's chain, libc's start code, then the program's _start.
        assert!(s.frames[0].object.ends_with("/libc.so.6"), "{s:#?}");
        assert!(n[0].contains("getppid"), "{n:?}");
        assert_eq!(&n[1..5], ["leaf", "middle", "top", "main"], "{n:?}");
        assert!(s.frames[1..5].iter().all(|f| &*f.object == exe));
        assert_eq!(n.last(), Some(&"_start"), "{n:?}");
        assert_eq!(s.end, StackEnd::Root);
        // The offsets are the file's: leaf's frame is in the program's text, not an address.
        assert!(s.frames[1].offset < 0x10_0000 && s.frames[1].address > s.frames[1].offset);
        let text = s.strace_lines(false).to_string();
        assert!(text.contains(&format!(" > {exe}(leaf+0x")), "{text}");
    }
}

#[test]
fn a_garbage_stack_is_a_short_stack() {
    let Some(exe) = chain("a_garbage_stack_is_a_short_stack") else { return };
    let stacks = stacks_at(TraceCommand::new(&exe).arg("garbage").spawn().unwrap(), "getpid");
    assert_eq!(stacks.len(), 2, "{stacks:#?}");
    for (_, s) in &stacks {
        // The innermost frame (in getpid_on) is known from the instruction pointer; its caller
        // cannot be found, and the walk says why instead of failing.
        assert!(!s.frames.is_empty() && s.frames.len() <= 2, "{s:#?}");
        assert_eq!(names(s)[0], "getpid_on");
        assert!(!matches!(s.end, StackEnd::Root), "{s:#?}");
    }
}

#[test]
fn a_handlers_stack_goes_on_through_the_signal_frame() {
    let Some(exe) = chain("a_handlers_stack_goes_on_through_the_signal_frame") else { return };
    let stacks = stacks_at(TraceCommand::new(&exe).arg("signal").spawn().unwrap(), "getppid");
    assert_eq!(stacks.len(), 1);
    let n = names(&stacks[0].1);
    // The handler, the trampoline it returns to (unnamed: `__restore_rt` has no function
    // symbol), then the interrupted code: raise's kill in libc, work, main.
    let h = n.iter().position(|f| *f == "handler").unwrap();
    let w = n.iter().position(|f| *f == "work").unwrap();
    assert!(h < w && n[w + 1] == "main" && n.last() == Some(&"_start"), "{n:?}");
    assert!(n[h + 1..w].iter().any(|f| f.contains("raise")), "{n:?}");
}

#[test]
fn each_thread_has_its_own_stack() {
    if !installed("each_thread_has_its_own_stack", &["python3", "--version"], "python3") {
        return;
    }
    let code = "import threading, os\nts=[threading.Thread(target=lambda: os.getsid(0)) for _ in range(3)]\n[t.start() for t in ts]\n[t.join() for t in ts]";
    let t = TraceCommand::new("python3").args(["-c", code]).follow_forks(true).spawn().unwrap();
    let stacks = stacks_at(t, "getsid");
    assert_eq!(stacks.len(), 3);
    for (_, s) in &stacks {
        let n = names(s);
        assert!(n[0].contains("getsid"), "{n:?}");
        // A thread's stack ends in its start (clone3), not in main's _start.
        assert!(n.iter().any(|f| f.contains("start_thread")), "{n:?}");
        assert!(!n.contains(&"_start"), "{n:?}");
    }
}

#[test]
fn a_running_task_is_refused() {
    let Some(exe) = chain("a_running_task_is_refused") else { return };
    let mut t = TraceCommand::new(&exe).spawn().unwrap();
    let ev = t.next_event().unwrap().unwrap();
    assert!(t.stack(1).is_err(), "pid 1 is not stopped by this tracer ({ev:?})");
}
