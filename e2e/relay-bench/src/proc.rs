//! A server's CPU time and resident memory, from /proc; for a server of several processes (two relay
//! replicas), the sums.

use anyhow::Context;

/// Clock ticks per second of /proc/PID/stat's times (`getconf CLK_TCK`; 100 on Linux x86-64).
pub fn clock_ticks() -> f64 {
    std::process::Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(100.0)
}

/// User plus system CPU seconds of every thread of `pid`.
pub fn cpu_seconds(pid: u32, ticks: f64) -> anyhow::Result<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .with_context(|| format!("read /proc/{pid}/stat"))?;
    // The command name may hold spaces: the fields after it start past the last ')'.
    let rest = stat.rsplit_once(')').context("a stat line")?.1;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // After ')' come state (field 3) ...: utime is field 14, stime field 15 of the whole line.
    let utime: f64 = fields.get(11).context("utime")?.parse()?;
    let stime: f64 = fields.get(12).context("stime")?.parse()?;
    Ok((utime + stime) / ticks)
}

/// Resident set size of `pid`, in KiB.
pub fn rss_kib(pid: u32) -> anyhow::Result<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))
        .with_context(|| format!("read /proc/{pid}/status"))?;
    let line = status
        .lines()
        .find(|l| l.starts_with("VmRSS:"))
        .context("VmRSS")?;
    Ok(line
        .split_whitespace()
        .nth(1)
        .context("a number")?
        .parse()?)
}

/// CPU seconds of every process in `pids`, added up.
pub fn cpu_seconds_of(pids: &[u32], ticks: f64) -> anyhow::Result<f64> {
    pids.iter().map(|&pid| cpu_seconds(pid, ticks)).sum()
}

/// Resident memory of every process in `pids`, added up, in KiB.
pub fn rss_kib_of(pids: &[u32]) -> anyhow::Result<u64> {
    pids.iter().map(|&pid| rss_kib(pid)).sum()
}
