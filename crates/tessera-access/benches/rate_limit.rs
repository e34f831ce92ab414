//! The in-process rate-limit decision every authenticated request pays for.
//!
//! `cargo bench -p tessera-access --bench rate_limit`

use criterion::{Criterion, criterion_group, criterion_main};
use std::hint::black_box;
use tessera_access::rate_limit::{Bucket, RateLimits};
use tessera_store::organizations::RateLimit;

fn decisions(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let limits = RateLimits::new(None).expect("in-memory limits");
    // A limit no benchmark run can exhaust, so every decision admits.
    let limit = RateLimit {
        per_second: 1_000_000_000,
        burst: 1_000_000_000,
    };
    let buckets = [(
        Bucket::Organization("org_01jbenchmarkorganization00".to_owned()),
        limit,
    )];
    c.bench_function("rate limit: local decision, organisation bucket", |b| {
        b.iter(|| black_box(limits.check_in_memory(black_box(&buckets))))
    });
    c.bench_function("rate limit: through the async entry point", |b| {
        b.to_async(&runtime)
            .iter(|| async { black_box(limits.check(black_box(&buckets)).await) })
    });
}

criterion_group!(benches, decisions);
criterion_main!(benches);
