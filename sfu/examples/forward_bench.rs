//! In-process forwarding benchmark: one publisher sends audio (50 packets/s) and video
//! (30 frames/s) to N subscribers, all real str0m peers on the simulated network of
//! `sfu/tests/sim` (ICE, DTLS, SRTP, no sockets, virtual time). Prints the wall-clock
//! time the SFU core spent per forwarded packet.
//!
//! ```text
//! cargo run --release -p sfu --example forward_bench -- [SUBSCRIBERS] [SECONDS]
//! ```
//!
//! Instruction counts repeat (within 0.1 %) from run to run under callgrind. Set-up
//! (DTLS handshakes, a few of which still fall between 2 and 6 s of virtual time) is
//! counted too, so run two durations and take the difference:
//!
//! ```text
//! valgrind --tool=callgrind --collect-atstart=no \
//!   --toggle-collect='sfu::core::peer_io::<impl sfu::core::Sfu>::handle_datagram' \
//!   --toggle-collect='sfu::core::peer_io::<impl sfu::core::Sfu>::handle_timeout' \
//!   --toggle-collect='sfu::core::peer_io::<impl sfu::core::Sfu>::settle' \
//!   target/release/examples/forward_bench 20 6
//! # again with 20 12; (Ir(12) - Ir(6)) / (forwarded since start(12) - (6))
//! ```
//!
//! Name the functions exactly: a wildcard also matches their closures, and a toggle
//! nested in a toggle switches collection off inside them.

#[path = "../tests/sim/mod.rs"]
mod sim;

use std::time::{Duration, Instant};

use str0m::media::MediaKind;

fn main() {
    let mut args = std::env::args().skip(1);
    let subscribers: usize = arg(args.next(), 10, "SUBSCRIBERS");
    let seconds: u64 = arg(args.next(), 10, "SECONDS");

    let mut s = sim::Sim::new(1);
    s.delay = Duration::from_millis(1);
    let chair = s.join("chair", "room", sim::ALL);
    let rooms: Vec<usize> = (0..subscribers)
        .map(|i| s.join(&format!("room-{i}"), "room", sim::ALL))
        .collect();
    s.publish(chair);
    let shown = s.run_until(Duration::from_secs(20), |s| {
        rooms
            .iter()
            .all(|&r| s.received(r, chair, MediaKind::Video).keyframes > 0)
    });
    assert!(shown, "not every subscriber received the chair's video");

    let forwarded_before = s.sfu.stats().packets_forwarded;
    let busy_before = s.sfu_busy;
    let wall = Instant::now();
    s.run_for(Duration::from_secs(seconds));
    let wall = wall.elapsed();
    let forwarded = s.sfu.stats().packets_forwarded - forwarded_before;
    let busy = s.sfu_busy - busy_before;
    let per_packet = busy.as_nanos() as f64 / forwarded.max(1) as f64;
    println!(
        "subscribers {subscribers}, {seconds} s virtual: forwarded {forwarded} packets; \
         SFU core {:.1} ms = {per_packet:.0} ns per forwarded packet (whole simulation {:.1} ms)",
        busy.as_secs_f64() * 1e3,
        wall.as_secs_f64() * 1e3
    );
    let total = s.sfu.stats().packets_forwarded;
    println!("forwarded since start: {total}");
}

fn arg<T: std::str::FromStr>(v: Option<String>, default: T, name: &str) -> T {
    match v {
        None => default,
        Some(v) => v.parse().unwrap_or_else(|_| {
            eprintln!("usage: forward_bench [SUBSCRIBERS] [SECONDS]; bad {name}: {v}");
            std::process::exit(2)
        }),
    }
}
