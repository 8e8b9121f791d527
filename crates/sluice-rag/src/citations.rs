//! Which sources an answer cites. Citation markers are read leniently (`[1]`, `[1, 3]`,
//! `[Source 2]`, `[2-3]`) and only numbers of sources actually given count, so a model that
//! writes `[Source 1]` is credited and one that copies a placeholder (`[n]`) or invents `[7]`
//! is not.

/// The source numbers `answer` cites, among `1..=sources`: every bracketed group made of
/// numbers (with `,`, `;`, `-`, `and` between them) and an optional `source`/`sources`/`doc`
/// word. Ranges are expanded.
pub fn cited_numbers(answer: &str, sources: usize) -> Vec<usize> {
    let mut out = Vec::new();
    let mut rest = answer;
    while let Some(open) = rest.find('[') {
        let after = &rest[open + 1..];
        let Some(close) = after.find(']').filter(|&c| c <= 32) else {
            rest = after;
            continue;
        };
        if let Some(nums) = marker_numbers(&after[..close]) {
            out.extend(nums.into_iter().filter(|n| (1..=sources).contains(n)));
        }
        rest = &after[close + 1..];
    }
    out.sort_unstable();
    out.dedup();
    out
}

/// The numbers inside one bracketed marker, or `None` if it is not a citation.
fn marker_numbers(inner: &str) -> Option<Vec<usize>> {
    let lower = inner.trim().to_ascii_lowercase();
    let body = ["sources", "source", "src", "doc"]
        .iter()
        .find_map(|w| lower.strip_prefix(w))
        .unwrap_or(&lower);
    let mut nums = Vec::new();
    for part in body
        .replace(" and ", ",")
        .split([',', ';'])
        .map(str::trim)
        .filter(|p| !p.is_empty())
    {
        let (a, b) = match part.split_once(['-', '–']) {
            Some((a, b)) => (a.trim(), Some(b.trim())),
            None => (part, None),
        };
        let a: usize = a.trim_start_matches('#').parse().ok()?;
        match b {
            Some(b) => {
                let b: usize = b.trim_start_matches('#').parse().ok()?;
                if b < a || b - a > 16 {
                    return None;
                }
                nums.extend(a..=b);
            }
            None => nums.push(a),
        }
    }
    (!nums.is_empty()).then_some(nums)
}

#[cfg(test)]
mod tests {
    use super::cited_numbers;

    #[test]
    fn markers_are_read_leniently_and_checked_against_the_sources() {
        assert_eq!(cited_numbers("A [1]. B [2][3].", 3), vec![1, 2, 3]);
        assert_eq!(cited_numbers("A [1, 3] and [Source 2].", 3), vec![1, 2, 3]);
        assert_eq!(cited_numbers("See [sources 1 and 2].", 3), vec![1, 2]);
        assert_eq!(cited_numbers("Steps [1-3].", 5), vec![1, 2, 3]);
        // Not sources: a placeholder, a number out of range, an array index, a checkbox.
        assert_eq!(cited_numbers("cite as [n]", 3), Vec::<usize>::new());
        assert_eq!(cited_numbers("see [7]", 3), Vec::<usize>::new());
        assert_eq!(cited_numbers("xs[i] and [ ] done", 3), Vec::<usize>::new());
        assert_eq!(cited_numbers("[0]", 3), Vec::<usize>::new());
    }
}
