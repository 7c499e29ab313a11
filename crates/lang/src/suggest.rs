//! "Did you mean ...?" candidates, shared by every diagnostic that names something unknown.

/// The candidate closest to `name`, if any is close enough to be a plausible typo.
pub fn closest<'a>(name: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    let mut best: Option<(f64, &'a str)> = None;
    for candidate in candidates {
        if candidate == name {
            continue;
        }
        let score =
            strsim::jaro_winkler(&name.to_ascii_lowercase(), &candidate.to_ascii_lowercase());
        let close = score >= 0.8 || strsim::levenshtein(name, candidate) <= 2.min(name.len() / 2);
        if close && best.is_none_or(|(s, _)| score > s) {
            best = Some((score, candidate));
        }
    }
    best.map(|(_, c)| c)
}

#[cfg(test)]
mod tests {
    use super::closest;

    #[test]
    fn finds_a_typo_and_ignores_strangers() {
        assert_eq!(closest("replcas", ["replicas", "image"]), Some("replicas"));
        assert_eq!(closest("zzz", ["replicas", "image"]), None);
    }
}
