//! Compose's units read exactly, and berth's written back: sizes (compose reads every suffix as
//! binary, `512m`, `1gb`), Go durations (`1m30s`, `1.5s`) and cpus (`0.5`). Values travel in
//! Swarm's units (bytes, nanoseconds, nano-cpus), so an import and an export agree to the byte.

/// Bytes of a compose size: a number of bytes or a number with `b`, `k`, `kb`, `m`, `mb`, `g`,
/// `gb`, `t`, `tb` (any case, `i` allowed: `KiB`), all binary, as Docker reads them.
pub fn size(s: &str) -> Option<u64> {
    let s = s.trim();
    let split = s
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(s.len());
    let (num, unit) = s.split_at(split);
    let unit = unit.trim().to_ascii_lowercase();
    let mult: u64 = match unit.as_str() {
        "" | "b" => 1,
        "k" | "kb" | "kib" => 1 << 10,
        "m" | "mb" | "mib" => 1 << 20,
        "g" | "gb" | "gib" => 1 << 30,
        "t" | "tb" | "tib" => 1 << 40,
        _ => return None,
    };
    scaled(num, mult)
}

/// `num` (a decimal) times `mult`, when it is a whole number that fits.
fn scaled(num: &str, mult: u64) -> Option<u64> {
    if num.is_empty() {
        return None;
    }
    let (whole, frac) = num.split_once('.').unwrap_or((num, ""));
    if frac.contains('.') || (whole.is_empty() && frac.is_empty()) || frac.len() > 9 {
        return None;
    }
    let whole: u64 = if whole.is_empty() {
        0
    } else {
        whole.parse().ok()?
    };
    let mut total = whole.checked_mul(mult)?;
    if !frac.is_empty() {
        let digits: u64 = frac.parse().ok()?;
        let scale = 10u64.pow(frac.len() as u32);
        let part = (digits as u128 * mult as u128) / scale as u128;
        if !(digits as u128 * mult as u128).is_multiple_of(scale as u128) {
            return None;
        }
        total = total.checked_add(u64::try_from(part).ok()?)?;
    }
    i64::try_from(total).ok()?;
    Some(total)
}

/// Nanoseconds of a Go duration (`1h2m3.5s`, `500ms`, `10us`); a bare number is seconds.
pub fn duration(s: &str) -> Option<u64> {
    let s = s.trim();
    if s == "0" {
        return Some(0);
    }
    if !s.is_empty() && s.chars().all(|c| c.is_ascii_digit()) {
        return s.parse::<u64>().ok()?.checked_mul(1_000_000_000);
    }
    let mut rest = s;
    let mut total: u64 = 0;
    while !rest.is_empty() {
        let n = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(rest.len());
        let num = &rest[..n];
        rest = &rest[n..];
        let u = rest
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(rest.len());
        let unit = &rest[..u];
        rest = &rest[u..];
        let mult: u64 = match unit {
            "h" => 3_600_000_000_000,
            "m" => 60_000_000_000,
            "s" => 1_000_000_000,
            "ms" => 1_000_000,
            "us" | "µs" => 1_000,
            "ns" => 1,
            _ => return None,
        };
        total = total.checked_add(scaled(num, mult)?)?;
    }
    i64::try_from(total).ok()?;
    Some(total)
}

/// Nano-cpus of a compose `cpus` value (`0.5`, `"1.25"`), to the millicore berth keeps.
pub fn cpus(s: &str) -> Option<u64> {
    let nano = scaled_round(s.trim(), 1_000_000_000)?;
    Some((nano + 500_000) / 1_000_000 * 1_000_000)
}

fn scaled_round(num: &str, mult: u64) -> Option<u64> {
    let (whole, frac) = num.split_once('.').unwrap_or((num, ""));
    let whole: u64 = if whole.is_empty() {
        0
    } else {
        whole.parse().ok()?
    };
    let frac: String = frac.chars().take(9).collect();
    if !frac.chars().all(|c| c.is_ascii_digit()) {
        return None;
    }
    let digits: u64 = if frac.is_empty() {
        0
    } else {
        frac.parse().ok()?
    };
    let part = digits * 10u64.pow(9 - frac.len() as u32) * (mult / 1_000_000_000).max(1);
    whole.checked_mul(mult)?.checked_add(part)
}

/// A berth size literal of `bytes`: `512M`, `1G`, `100B`.
pub fn berth_size(bytes: u64) -> String {
    if bytes == 0 {
        return "0".into();
    }
    for (shift, unit) in [(40, "T"), (30, "G"), (20, "M"), (10, "K")] {
        if bytes.is_multiple_of(1u64 << shift) {
            return format!("{}{unit}", bytes >> shift);
        }
    }
    format!("{bytes}B")
}

/// A compose size of `bytes`: `512M`, `100b`.
pub fn compose_size(bytes: u64) -> String {
    match berth_size(bytes) {
        s if s.ends_with('B') => format!("{bytes}b"),
        s => s,
    }
}

/// A duration literal of `ns`, largest unit first: `1m30s`, `500ms`, `0s`. Berth and Go read it
/// alike.
pub fn berth_duration(ns: u64) -> String {
    if ns == 0 {
        return "0s".into();
    }
    let mut rest = ns;
    let mut out = String::new();
    for (mult, unit) in [
        (3_600_000_000_000u64, "h"),
        (60_000_000_000, "m"),
        (1_000_000_000, "s"),
        (1_000_000, "ms"),
        (1_000, "us"),
        (1, "ns"),
    ] {
        if rest >= mult {
            out.push_str(&format!("{}{unit}", rest / mult));
            rest %= mult;
        }
    }
    out
}

/// A cpu amount of nano-cpus: `2`, `0.25`, `0.001`.
pub fn decimal_cpus(nano: u64) -> String {
    let whole = nano / 1_000_000_000;
    let frac = nano % 1_000_000_000;
    if frac == 0 {
        return whole.to_string();
    }
    let digits = format!("{frac:09}");
    format!("{whole}.{}", digits.trim_end_matches('0'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_are_binary_like_dockers() {
        assert_eq!(size("512m"), Some(512 << 20));
        assert_eq!(size("1gb"), Some(1 << 30));
        assert_eq!(size("1.5G"), Some(3 << 29));
        assert_eq!(size("100"), Some(100));
        assert_eq!(size("64KiB"), Some(64 << 10));
        assert_eq!(size("0.5b"), None);
        assert_eq!(size("12x"), None);
        assert_eq!(size("99999999999999999999"), None);
        assert_eq!(berth_size(512 << 20), "512M");
        assert_eq!(berth_size(1000), "1000B");
        assert_eq!(compose_size(1000), "1000b");
    }

    #[test]
    fn durations_read_and_write_back() {
        for (text, ns) in [
            ("1m30s", 90_000_000_000),
            ("500ms", 500_000_000),
            ("1.5s", 1_500_000_000),
            ("10", 10_000_000_000),
            ("1h", 3_600_000_000_000),
        ] {
            assert_eq!(duration(text), Some(ns), "{text}");
            assert_eq!(duration(&berth_duration(ns)), Some(ns));
        }
        assert_eq!(berth_duration(90_500_000_000), "1m30s500ms");
        assert_eq!(duration("3x"), None);
        assert_eq!(duration("s"), None);
    }

    #[test]
    fn cpus_keep_millicores() {
        assert_eq!(cpus("0.5"), Some(500_000_000));
        assert_eq!(cpus("2"), Some(2_000_000_000));
        assert_eq!(cpus("0.3333"), Some(333_000_000));
        assert_eq!(decimal_cpus(250_000_000), "0.25");
        assert_eq!(decimal_cpus(3_000_000_000), "3");
    }
}
