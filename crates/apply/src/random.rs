//! Random bytes for berth's identifiers (lock IDs, state lineages), from the kernel's generator.

/// `N` bytes read from `/dev/urandom`; zeros when it cannot be read (a lineage also mixes in the
/// time and the process ID).
pub(crate) fn bytes<const N: usize>() -> [u8; N] {
    let mut out = [0u8; N];
    if let Ok(mut f) = std::fs::File::open("/dev/urandom") {
        let _ = std::io::Read::read_exact(&mut f, &mut out);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bytes_are_random() {
        // Two reads of 16 bytes are equal with probability 2^-128: equal means not random.
        let (a, b) = (bytes::<16>(), bytes::<16>());
        assert_ne!(a, b);
        assert_ne!(a, [0u8; 16]);
    }
}
