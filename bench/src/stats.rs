//! Percentiles of latencies in ms, and the row every mode prints them in.

pub fn pct(v: &mut [f64], p: f64) -> f64 {
    if v.is_empty() {
        return f64::NAN;
    }
    v.sort_by(|a, b| a.partial_cmp(b).unwrap());
    v[((v.len() as f64 - 1.0) * p).round() as usize]
}

pub fn print_row(name: &str, v: &mut [f64]) {
    println!(
        "  {name:<44} p50 {:>8.1} ms   p95 {:>8.1} ms   p99 {:>8.1} ms",
        pct(v, 0.5),
        pct(v, 0.95),
        pct(v, 0.99)
    );
}
