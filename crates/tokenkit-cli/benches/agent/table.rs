//! The agent benchmark's summary: one row per measurement, and the CPU the agent, the
//! load generator and the rest of the machine used meanwhile (read from `/proc`: with
//! all of them on the same two cores, it tells which one limits the rate, and whether
//! other work on the machine took its share).

use std::time::{Duration, Instant};

use crate::load::Measured;

/// CPU time of the agent and of this process since a start.
pub struct Cpu {
    agent: u32,
    agent_ns: u64,
    bench_ns: u64,
    machine: Machine,
    wall: Instant,
}

/// The CPU used over a row, in cores (1.0 = one core busy all the time).
#[derive(Clone, Copy)]
pub struct CpuUse {
    agent: f64,
    bench: f64,
    rest: f64,
}

impl Cpu {
    /// Starts counting for the agent of process id `agent`.
    pub fn start(agent: u32) -> Self {
        Self {
            agent,
            agent_ns: cpu_ns(agent),
            bench_ns: cpu_ns(std::process::id()),
            machine: Machine::now(),
            wall: Instant::now(),
        }
    }

    /// What was used since [`Cpu::start`].
    pub fn stop(self) -> CpuUse {
        let wall = self.wall.elapsed().as_nanos() as f64;
        let agent = cpu_ns(self.agent).saturating_sub(self.agent_ns) as f64 / wall;
        let bench = cpu_ns(std::process::id()).saturating_sub(self.bench_ns) as f64 / wall;
        let machine = self.machine.busy_since();
        CpuUse {
            agent,
            bench,
            // The two counters differ in resolution: a few percent either way is noise.
            rest: (machine - agent - bench).max(0.0),
        }
    }
}

/// The CPU time of all threads of process `pid`, in ns (`/proc/PID/task/*/schedstat`,
/// first field); 0 where `/proc` cannot tell.
fn cpu_ns(pid: u32) -> u64 {
    let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) else {
        return 0;
    };
    tasks
        .flatten()
        .filter_map(|task| std::fs::read_to_string(task.path().join("schedstat")).ok())
        .filter_map(|stat| stat.split_whitespace().next()?.parse::<u64>().ok())
        .sum()
}

/// The machine's CPU time counters (`/proc/stat`, first line), in clock ticks.
struct Machine {
    busy: u64,
    total: u64,
}

impl Machine {
    fn now() -> Self {
        let stat = std::fs::read_to_string("/proc/stat").unwrap_or_default();
        let ticks: Vec<u64> = stat
            .lines()
            .next()
            .unwrap_or_default()
            .split_whitespace()
            .skip(1)
            .filter_map(|t| t.parse().ok())
            .collect();
        // user nice system idle iowait irq softirq steal (guest time is within user).
        let field = |i: usize| ticks.get(i).copied().unwrap_or(0);
        let idle = field(3) + field(4);
        let total = (0..8).map(field).sum::<u64>();
        Self {
            busy: total - idle,
            total,
        }
    }

    /// The cores kept busy since `self` (by anything: tasks, interrupts, steal).
    fn busy_since(&self) -> f64 {
        let now = Self::now();
        let total = now.total.saturating_sub(self.total);
        if total == 0 {
            return 0.0;
        }
        let cores = std::thread::available_parallelism().map_or(1, usize::from) as f64;
        now.busy.saturating_sub(self.busy) as f64 / total as f64 * cores
    }
}

/// One line of the table.
pub struct Row {
    what: String,
    connections: String,
    requests: usize,
    per_sec: f64,
    mean: u64,
    p50: u64,
    p99: u64,
    p999: u64,
    max: u64,
    cpu: Option<CpuUse>,
}

impl Row {
    /// The row of a measurement.
    pub fn of(what: String, connections: String, measured: Measured, cpu: Option<CpuUse>) -> Self {
        let mut latencies = measured.latencies;
        assert!(!latencies.is_empty(), "{what}: nothing was measured");
        latencies.sort_unstable();
        let at =
            |q: f64| latencies[((latencies.len() as f64 * q) as usize).min(latencies.len() - 1)];
        let total: u128 = latencies.iter().map(|&l| u128::from(l)).sum();
        Self {
            connections,
            requests: latencies.len(),
            per_sec: latencies.len() as f64
                / measured.elapsed.max(Duration::from_nanos(1)).as_secs_f64(),
            mean: u64::try_from(total / latencies.len() as u128).unwrap_or(u64::MAX),
            p50: at(0.50),
            p99: at(0.99),
            p999: at(0.999),
            max: latencies[latencies.len() - 1],
            cpu,
            what,
        }
    }
}

/// Prints `rows` as one aligned table.
pub fn print(rows: &[Row]) {
    let width = rows.iter().map(|r| r.what.len()).max().unwrap_or(0);
    println!(
        "{:width$}  {:>5}  {:>8}  {:>8}  {:>9}  {:>9}  {:>9}  {:>9}  {:>9}  {:>6}  {:>6}  {:>6}",
        "",
        "conns",
        "requests",
        "req/s",
        "mean",
        "p50",
        "p99",
        "p99.9",
        "max",
        "agent",
        "bench",
        "rest"
    );
    for row in rows {
        let [agent, bench, rest] = row.cpu.map_or(["-".into(), "-".into(), "-".into()], |cpu| {
            [percent(cpu.agent), percent(cpu.bench), percent(cpu.rest)]
        });
        println!(
            "{:width$}  {:>5}  {:>8}  {:>8}  {:>9}  {:>9}  {:>9}  {:>9}  {:>9}  {:>6}  {:>6}  {:>6}",
            row.what,
            row.connections,
            row.requests,
            thousands(row.per_sec),
            duration(row.mean),
            duration(row.p50),
            duration(row.p99),
            duration(row.p999),
            duration(row.max),
            agent,
            bench,
            rest,
        );
    }
    println!(
        "(CPU, 100% = one core: agent = the agent process, bench = this process (the load \
         generator), rest = everything else on the machine)"
    );
}

fn percent(cores: f64) -> String {
    format!("{:.0}%", cores * 100.0)
}

/// `12,345` (whole requests per second), or `2.5` below ten.
fn thousands(per_sec: f64) -> String {
    if per_sec < 10.0 {
        return format!("{per_sec:.1}");
    }
    let digits = format!("{per_sec:.0}");
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// `812 ns`, `48.2 µs`, `1.31 ms`.
fn duration(ns: u64) -> String {
    let ns = ns as f64;
    if ns < 1_000.0 {
        format!("{ns:.0} ns")
    } else if ns < 1_000_000.0 {
        format!("{:.1} µs", ns / 1_000.0)
    } else {
        format!("{:.2} ms", ns / 1_000_000.0)
    }
}
