//! Statistics the kernel keeps in /proc (proc(5)): typed system and per-process files
//! ([`stats`]) and a `top`-style process table sampler ([`top`]).

pub mod stats;
pub mod top;
