//! perf_event_open(2) facilities: counters and groups ([`counters`]), sampling profiles with
//! callchains ([`profile`]) read from the mapped ring ([`ring`]), their symbolization ([`symbolize`]) and flame
//! graphs ([`flamegraph`](mod@flamegraph)).

#[cfg(feature = "perf")]
pub mod counters;
#[cfg(feature = "flamegraph")]
pub mod flamegraph;
#[cfg(feature = "perf")]
pub mod profile;
#[cfg(feature = "perf")]
pub mod ring;
pub mod symbolize;
