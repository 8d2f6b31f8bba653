//! Indicator look-ups per second on a million-entry snapshot: domains
//! (hit, miss walking up the labels), addresses (longest-prefix match).

use std::hint::black_box;
use std::sync::Arc;

use criterion::{Criterion, criterion_group, criterion_main};
use harrier_intel::{IntelStore, Kind, parse_feed};

fn store() -> IntelStore {
    let mut text = String::from("[command-and-control]\n");
    for i in 0..500_000u32 {
        text.push_str(&format!("*.d{i:x}.example\n"));
    }
    for i in 0..500_000u32 {
        let [a, b, c, _] = (0x0a00_0000u32 + (i << 8)).to_be_bytes();
        text.push_str(&format!("{a}.{b}.{c}.0/24\n"));
    }
    let s = IntelStore::new();
    s.set_group(
        "bench",
        vec![Arc::new(parse_feed("bench.txt", &text).unwrap())],
    );
    s
}

fn lookups(c: &mut Criterion) {
    let s = store();
    c.bench_function("domain hit (subdomain)", |b| {
        b.iter(|| s.lookup(Kind::Domain, black_box("www.d1234.example")))
    });
    c.bench_function("domain miss (4 labels)", |b| {
        b.iter(|| s.lookup(Kind::Domain, black_box("a.b.nothere.example")))
    });
    c.bench_function("ipv4 hit", |b| {
        b.iter(|| s.lookup(Kind::Ip, black_box("10.1.2.3")))
    });
    c.bench_function("ipv4 miss", |b| {
        b.iter(|| s.lookup(Kind::Ip, black_box("192.0.2.1")))
    });
}

criterion_group!(benches, lookups);
criterion_main!(benches);
