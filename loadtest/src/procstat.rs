//! CPU time and memory of a process, from `/proc` (Linux): the server under test and
//! the load generator itself.

use std::fs;

/// CPU time and resident memory of a process at one moment.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Sample {
    /// User plus system CPU time, seconds.
    pub cpu_seconds: f64,
    /// Resident set size, bytes.
    pub rss_bytes: u64,
}

/// Reads `/proc/PID/stat` and `/proc/PID/statm`; `None` once the process is gone.
pub fn sample(pid: u32) -> Option<Sample> {
    let stat = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let statm = fs::read_to_string(format!("/proc/{pid}/statm")).ok()?;
    parse(&stat, &statm, clock_ticks_per_sec(), page_size())
}

/// The process's own figures.
pub fn own() -> Option<Sample> {
    sample(std::process::id())
}

fn parse(stat: &str, statm: &str, ticks: f64, page: u64) -> Option<Sample> {
    // The command name (field 2) may hold spaces and parentheses: count from the last ')'.
    let rest = &stat[stat.rfind(')')? + 1..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // After the name: state is field 3, so utime (14) and stime (15) are at 11 and 12.
    let utime: u64 = fields.get(11)?.parse().ok()?;
    let stime: u64 = fields.get(12)?.parse().ok()?;
    let resident: u64 = statm.split_whitespace().nth(1)?.parse().ok()?;
    Some(Sample {
        cpu_seconds: (utime + stime) as f64 / ticks,
        rss_bytes: resident * page,
    })
}

fn clock_ticks_per_sec() -> f64 {
    // SAFETY: sysconf only reads a configuration value.
    let t = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    if t > 0 {
        t as f64
    } else {
        100.0
    }
}

fn page_size() -> u64 {
    // SAFETY: sysconf only reads a configuration value.
    let p = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
    if p > 0 {
        p as u64
    } else {
        4096
    }
}

/// The one process whose name is `name` (as in `/proc/PID/comm`); `Err` says why
/// there is not exactly one.
pub fn find_by_name(name: &str) -> Result<u32, String> {
    let mut found = Vec::new();
    let dir = fs::read_dir("/proc").map_err(|e| format!("reading /proc: {e}"))?;
    for entry in dir.flatten() {
        let Some(pid) = entry.file_name().to_str().and_then(|s| s.parse::<u32>().ok()) else {
            continue;
        };
        if let Ok(comm) = fs::read_to_string(format!("/proc/{pid}/comm")) {
            if comm.trim_end() == name {
                found.push(pid);
            }
        }
    }
    match found.as_slice() {
        [pid] => Ok(*pid),
        [] => Err(format!("no process named {name} runs")),
        many => Err(format!(
            "{} processes named {name} run ({many:?}): pass --server-pid",
            many.len()
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_stat_with_an_awkward_name() {
        let stat = "1234 (my (odd) name) S 1 1234 1234 0 -1 4194560 100 0 0 0 250 50 0 0 20 0 3 0 100 1000000 300 18446744073709551615";
        let s = parse(stat, "5000 300 100 1 0 400 0\n", 100.0, 4096).unwrap();
        assert_eq!(s.cpu_seconds, 3.0);
        assert_eq!(s.rss_bytes, 300 * 4096);
        assert_eq!(parse("garbage", "", 100.0, 4096), None);
    }

    #[test]
    fn reads_its_own_process() {
        let s = own().expect("/proc/self is readable");
        assert!(s.rss_bytes > 0);
        assert!(find_by_name("no-such-process-name-here").is_err());
    }
}
