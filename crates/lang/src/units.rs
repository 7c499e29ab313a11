//! Typed unit literals: sizes, durations and cpu amounts, converted to the units Swarm stores
//! (bytes, nanoseconds, nano-cpus). The rules are documented in `schema/LANGUAGE.md`; sizes follow
//! Docker, which reads `512M` as 512 MiB.

use nom::character::complete::{alpha1, digit1};
use nom::combinator::{opt, recognize};
use nom::multi::many1;
use nom::sequence::{pair, tuple};
use nom::IResult;

/// The largest duration or size berth accepts or computes: Swarm stores both as signed 64-bit
/// integers (nanoseconds, bytes), so anything above would be refused or wrap in the engine.
pub const MAX_UNITS: u64 = i64::MAX as u64;

/// Why a unit literal was refused; rendered into the diagnostic's message and help.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UnitError {
    #[error("`{0}` is not a known size unit")]
    UnknownSizeUnit(String),
    #[error("`{unit}` is ambiguous")]
    DecimalSize { unit: String, binary: String },
    #[error("a size needs a unit")]
    SizeNeedsUnit,
    #[error("sizes are whole numbers of bytes")]
    FractionalBytes,
    #[error("`{0}` is not a duration unit")]
    UnknownDurationUnit(String),
    #[error("a duration needs a unit")]
    DurationNeedsUnit,
    #[error("duration units must go from largest to smallest, each once")]
    DurationOrder,
    #[error("`{0}` is not a cpu unit")]
    UnknownCpuUnit(String),
    #[error("cpu amounts are at least 0.001 cores (`1m`) in steps of 1m")]
    CpuPrecision,
    #[error("the value is too large")]
    Overflow,
    #[error("malformed quantity")]
    Malformed,
}

fn decimal(i: &str) -> IResult<&str, &str> {
    recognize(pair(
        digit1,
        opt(pair(nom::character::complete::char('.'), digit1)),
    ))(i)
}

fn groups(i: &str) -> IResult<&str, Vec<(&str, &str)>> {
    many1(tuple((decimal, alpha1)))(i)
}

/// Splits `512M` into (512.0, "M"); `None` when the text is not number+unit.
fn split_one(text: &str) -> Option<(f64, &str)> {
    let (rest, (num, unit)) = pair(decimal, alpha1)(text).ok()?;
    if !rest.is_empty() {
        return None;
    }
    Some((num.parse().ok()?, unit))
}

/// Bytes in a size literal such as `512M`, `1.5G`, `10GiB`.
pub fn size(text: &str) -> Result<u64, UnitError> {
    let Some((n, unit)) = split_one(text) else {
        return Err(UnitError::Malformed);
    };
    let factor: u64 = match unit {
        "B" | "b" => 1,
        "K" | "k" | "Ki" | "KiB" => 1 << 10,
        "M" | "m" | "Mi" | "MiB" => 1 << 20,
        "G" | "g" | "Gi" | "GiB" => 1 << 30,
        "T" | "t" | "Ti" | "TiB" => 1 << 40,
        "KB" | "kB" | "kb" | "MB" | "mb" | "GB" | "gb" | "TB" | "tb" => {
            let binary = unit[..1].to_ascii_uppercase();
            return Err(UnitError::DecimalSize {
                unit: unit.to_string(),
                binary,
            });
        }
        other => return Err(UnitError::UnknownSizeUnit(other.to_string())),
    };
    let bytes = n * factor as f64;
    if bytes >= MAX_UNITS as f64 {
        return Err(UnitError::Overflow);
    }
    if bytes.fract() != 0.0 {
        return Err(UnitError::FractionalBytes);
    }
    Ok(bytes as u64)
}

/// Nanoseconds in a duration literal such as `500ms`, `10s`, `1m30s`.
pub fn duration(text: &str) -> Result<u64, UnitError> {
    let Ok((rest, parts)) = groups(text) else {
        return Err(UnitError::Malformed);
    };
    if !rest.is_empty() {
        return Err(UnitError::Malformed);
    }
    let mut total: f64 = 0.0;
    let mut last_rank = usize::MAX;
    for (num, unit) in parts {
        let (rank, factor) = match unit {
            "h" => (5, 3_600_000_000_000.0),
            "m" => (4, 60_000_000_000.0),
            "s" => (3, 1_000_000_000.0),
            "ms" => (2, 1_000_000.0),
            "us" => (1, 1_000.0),
            "ns" => (0, 1.0),
            other => return Err(UnitError::UnknownDurationUnit(other.to_string())),
        };
        if rank >= last_rank {
            return Err(UnitError::DurationOrder);
        }
        last_rank = rank;
        let n: f64 = num.parse().map_err(|_| UnitError::Malformed)?;
        total += n * factor;
    }
    if total >= MAX_UNITS as f64 {
        return Err(UnitError::Overflow);
    }
    Ok(total.round() as u64)
}

/// Nano-cpus in a cpu amount: `2` or `0.5` cores, or `500m` millicores.
pub fn cpu_quantity(text: &str) -> Result<u64, UnitError> {
    let Some((n, unit)) = split_one(text) else {
        return Err(UnitError::Malformed);
    };
    if unit != "m" {
        return Err(UnitError::UnknownCpuUnit(unit.to_string()));
    }
    if n.fract() != 0.0 {
        return Err(UnitError::CpuPrecision);
    }
    cpu_cores(n / 1000.0)
}

/// Nano-cpus in a number of cores.
pub fn cpu_cores(cores: f64) -> Result<u64, UnitError> {
    if !(0.0..=1_000_000.0).contains(&cores) {
        return Err(UnitError::Overflow);
    }
    let milli = cores * 1000.0;
    if (milli - milli.round()).abs() > 1e-6 {
        return Err(UnitError::CpuPrecision);
    }
    Ok(milli.round() as u64 * 1_000_000)
}

/// Renders bytes the way users write them (`512M`, `1.5G`), for messages.
pub fn format_size(bytes: u64) -> String {
    const UNITS: [(&str, u64); 4] = [
        ("T", 1 << 40),
        ("G", 1 << 30),
        ("M", 1 << 20),
        ("K", 1 << 10),
    ];
    for (unit, factor) in UNITS {
        if bytes >= factor {
            let v = bytes as f64 / factor as f64;
            return if v.fract() == 0.0 {
                format!("{}{unit}", v as u64)
            } else {
                format!("{:.2}{unit}", v).replace(".00", "")
            };
        }
    }
    format!("{bytes}B")
}

/// Renders nano-cpus as cores (`0.5`, `2`), for messages.
pub fn format_cpu(nano: u64) -> String {
    let cores = nano as f64 / 1e9;
    let s = format!("{cores:.3}");
    s.trim_end_matches('0').trim_end_matches('.').to_string()
}

/// Renders nanoseconds as a duration literal (`1m30s`, `500ms`), for messages.
pub fn format_duration(ns: u64) -> String {
    if ns == 0 {
        return "0s".into();
    }
    let mut out = String::new();
    let mut rest = ns;
    for (unit, factor) in [
        ("h", 3_600_000_000_000u64),
        ("m", 60_000_000_000),
        ("s", 1_000_000_000),
        ("ms", 1_000_000),
        ("us", 1_000),
        ("ns", 1),
    ] {
        if rest >= factor {
            out.push_str(&format!("{}{unit}", rest / factor));
            rest %= factor;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_are_binary_like_docker() {
        assert_eq!(size("512M"), Ok(512 << 20));
        assert_eq!(size("1.5G"), Ok(3 << 29));
        assert_eq!(size("10GiB"), Ok(10 << 30));
        assert_eq!(size("100B"), Ok(100));
        assert!(matches!(size("512MB"), Err(UnitError::DecimalSize { .. })));
        assert!(matches!(size("3X"), Err(UnitError::UnknownSizeUnit(_))));
        assert_eq!(size("0.5B"), Err(UnitError::FractionalBytes));
    }

    #[test]
    fn durations_compose_largest_first() {
        assert_eq!(duration("500ms"), Ok(500_000_000));
        assert_eq!(duration("1m30s"), Ok(90_000_000_000));
        assert_eq!(duration("1h"), Ok(3_600_000_000_000));
        assert_eq!(duration("30s1m"), Err(UnitError::DurationOrder));
        assert!(duration("10x").is_err());
        assert_eq!(format_duration(90_000_000_000), "1m30s");
    }

    #[test]
    fn cpu_in_cores_or_millicores() {
        assert_eq!(cpu_quantity("500m"), Ok(500_000_000));
        assert_eq!(cpu_cores(0.25), Ok(250_000_000));
        assert_eq!(cpu_cores(0.0001), Err(UnitError::CpuPrecision));
        assert!(cpu_quantity("2c").is_err());
        assert_eq!(format_cpu(2_500_000_000), "2.5");
        assert_eq!(format_size(512 << 20), "512M");
    }
}
