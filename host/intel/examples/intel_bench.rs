//! Figures for BENCHMARKS.md: memory per million indicators (domains, CIDR
//! ranges), single-thread look-ups per second, and a reload of a
//! 1 M-indicator feed while a reader keeps looking up (its slowest look-up
//! and that every one of its queries was answered once).
//!
//! `cargo run --release -p harrier-intel --example intel_bench`

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use harrier_intel::{Feed, IntelStore, Kind, parse_feed};

const N: u32 = 1_000_000;

/// Resident memory of this process, bytes.
fn rss() -> u64 {
    let statm = std::fs::read_to_string("/proc/self/statm").unwrap();
    let pages: u64 = statm.split_whitespace().nth(1).unwrap().parse().unwrap();
    pages * 4096
}

fn domains(n: u32, tag: &str) -> Feed {
    let mut text = String::from("[command-and-control]\n");
    for i in 0..n {
        text.push_str(&format!("*.{tag}{i:x}.example.com\n"));
    }
    parse_feed("domains.txt", &text).unwrap()
}

fn ranges(n: u32) -> Feed {
    let mut text = String::from("[tor-relay]\n");
    for i in 0..n {
        let [a, b, c, _] = (0x0a00_0000u32.wrapping_add(i << 8)).to_be_bytes();
        text.push_str(&format!("{a}.{b}.{c}.0/24\n"));
    }
    parse_feed("ranges.txt", &text).unwrap()
}

/// Resident bytes a store of `feed` adds once the parsed feed is dropped.
fn memory_of(feed: Feed) -> (u64, Arc<IntelStore>) {
    let store = Arc::new(IntelStore::new());
    let before = rss();
    store.set_group("bench", vec![Arc::new(feed)]);
    // The store keeps the feed too (to rebuild on a later reload).
    (rss().saturating_sub(before), store)
}

fn per_second(iterations: u64, f: impl Fn(u64) -> bool) -> (f64, u64) {
    let start = Instant::now();
    let mut hits = 0;
    for i in 0..iterations {
        hits += f(i) as u64;
    }
    (iterations as f64 / start.elapsed().as_secs_f64(), hits)
}

fn main() {
    let base = rss();
    let feed = domains(N, "d");
    let feed_bytes = rss().saturating_sub(base);
    let (store_bytes, store) = memory_of(feed);
    println!(
        "1 M domains: parsed feed {:.0} MiB, snapshot {:.0} MiB ({:.0} B/indicator)",
        feed_bytes as f64 / 1048576.0,
        store_bytes as f64 / 1048576.0,
        store_bytes as f64 / N as f64
    );
    let names: Vec<String> = (0..4096u32)
        .map(|i| format!("www.d{:x}.example.com", i * 241))
        .collect();
    let misses: Vec<String> = (0..4096u32)
        .map(|i| format!("a.b{i}.nothere.example.org"))
        .collect();
    let (hit_rate, hits) = per_second(5_000_000, |i| {
        store
            .lookup(Kind::Domain, &names[i as usize % 4096])
            .is_some()
    });
    assert_eq!(hits, 5_000_000);
    let (miss_rate, _) = per_second(5_000_000, |i| {
        store
            .lookup(Kind::Domain, &misses[i as usize % 4096])
            .is_some()
    });
    println!(
        "domain look-ups: {hit_rate:.0}/s (hit via parent), {miss_rate:.0}/s (miss, 5 labels)"
    );
    drop(store);

    let before = rss();
    let feed = ranges(N);
    let feed_bytes = rss().saturating_sub(before);
    let (store_bytes, store) = memory_of(feed);
    println!(
        "1 M CIDR ranges: parsed feed {:.0} MiB, snapshot {:.0} MiB ({:.0} B/indicator)",
        feed_bytes as f64 / 1048576.0,
        store_bytes as f64 / 1048576.0,
        store_bytes as f64 / N as f64
    );
    let addrs: Vec<String> = (0..4096u32)
        .map(|i| {
            let [a, b, c, _] = (0x0a00_0000u32 + ((i * 211) << 8)).to_be_bytes();
            format!("{a}.{b}.{c}.7")
        })
        .collect();
    let (ip_rate, hits) = per_second(5_000_000, |i| {
        store.lookup(Kind::Ip, &addrs[i as usize % 4096]).is_some()
    });
    assert_eq!(hits, 5_000_000);
    let (ip_miss, _) = per_second(5_000_000, |i| {
        store.lookup(Kind::Ip, "192.0.2.1").is_some() && i == u64::MAX
    });
    println!("address look-ups: {ip_rate:.0}/s (hit), {ip_miss:.0}/s (miss)");

    // Reload a 1 M-domain feed while a reader looks up a numbered stream of
    // queries: each is answered exactly once, old or new snapshot.
    let stop = Arc::new(AtomicBool::new(false));
    let reader_store = store.clone();
    let reader_stop = stop.clone();
    let reader = std::thread::spawn(move || {
        let mut answered = 0u64;
        let mut worst = Duration::ZERO;
        let mut seq = 0u64;
        while !reader_stop.load(Ordering::Relaxed) {
            let t = Instant::now();
            let _ = reader_store.lookup(Kind::Ip, &addrs[seq as usize % 4096]);
            worst = worst.max(t.elapsed());
            seq += 1;
            answered += 1;
        }
        (seq, answered, worst)
    });
    std::thread::sleep(Duration::from_millis(200));
    let t = Instant::now();
    let feed = Arc::new(domains(N, "r"));
    let parsed = t.elapsed();
    store.set_group("reload", vec![feed]);
    let total = t.elapsed();
    std::thread::sleep(Duration::from_millis(200));
    stop.store(true, Ordering::Relaxed);
    let (seq, answered, worst) = reader.join().unwrap();
    assert_eq!(seq, answered);
    assert!(store.lookup(Kind::Domain, "x.r10.example.com").is_some());
    println!(
        "reload of a 1 M-domain feed beside 1 M ranges: parse {:.2} s, parse + build + swap {:.2} s; the reader answered {answered} queries, each once, slowest {:.1} us",
        parsed.as_secs_f64(),
        total.as_secs_f64(),
        worst.as_secs_f64() * 1e6
    );
}
