//! Loop detection for a local model's raw output. Small models, once lost, repeat
//! themselves until the token limit — a sentence on every line (`2. Use a server to host
//! the failover.` / `3. Use a server to host the failover.`), a short line (`The answer
//! is:`), or a unit within one line (`1.1.1.1…`, `PASSWORD_PASSWORD_…`, `[1] [2] [3] …`) —
//! which costs the user the whole limit in decode time and adds nothing to the answer.
//! [`RepeatGuard`] says when to end the generation; what was emitted stays emitted.

use std::collections::HashSet;

/// Lines shorter than this (list markers aside) may repeat legitimately ("Steps:", "---").
const MIN_REPEAT_LINE: usize = 16;

/// Characters of recent output (digit runs folded) the loop check looks back over.
const WINDOW: usize = 256;

/// A run of one repeated unit counts as a loop once it is this long …
const MIN_LOOP_CHARS: usize = 32;

/// … and holds this many copies of its unit: `[long, short]`, a unit shorter than
/// [`MIN_REPEAT_LINE`] being short. Verbatim, the second copy of a long unit is already a
/// repeat (as for lines). Alike but for their numbers, copies may be a legitimate list
/// (`Tier 1 costs 10 EUR. Tier 2 costs 20 EUR.`), so it takes more of them.
const COPIES_VERBATIM: [usize; 2] = [2, 4];
const COPIES_BUT_NUMBERS: [usize; 2] = [4, 8];

/// Ends a generation at its first repeated line (list numbering aside) or once the output
/// ends in one unit repeated back to back ([`MIN_LOOP_CHARS`] at least). Copies that differ
/// only in their numbers count too, with more of them, so counting loops (`[1] [2] [3]`,
/// `1. 2. 3.`) end; a unit with no letter or digit (`|---`, `===`, spaces) never does.
#[derive(Debug, Default)]
pub(crate) struct RepeatGuard {
    seen: HashSet<String>,
    line: String,
    /// Recent output, as written.
    tail: Vec<char>,
    /// Recent output with every digit run folded into one `0`.
    folded: Vec<char>,
    in_digits: bool,
}

impl RepeatGuard {
    /// Feeds emitted text; true once the output repeats itself.
    pub fn push(&mut self, text: &str) -> bool {
        let mut repeated = false;
        for (i, part) in text.split('\n').enumerate() {
            if i > 0 {
                let line = std::mem::take(&mut self.line);
                repeated |= !self.note(&line);
            }
            self.line.push_str(part);
        }
        self.fold(text);
        repeated || self.loops()
    }

    /// Records a completed line; false if it was seen before.
    fn note(&mut self, line: &str) -> bool {
        let key: String = line
            .trim()
            .trim_start_matches(|c: char| c.is_ascii_digit() || ".)-*• ".contains(c))
            .trim()
            .to_lowercase();
        key.len() < MIN_REPEAT_LINE || self.seen.insert(key)
    }

    fn fold(&mut self, text: &str) {
        for c in text.chars() {
            let digit = c.is_ascii_digit();
            if !(digit && self.in_digits) {
                self.folded.push(if digit { '0' } else { c });
            }
            self.in_digits = digit;
            self.tail.push(c);
        }
        for t in [&mut self.tail, &mut self.folded] {
            if t.len() > 2 * WINDOW {
                t.drain(..t.len() - WINDOW);
            }
        }
    }

    fn loops(&self) -> bool {
        ends_in_loop(&self.tail, COPIES_VERBATIM) || ends_in_loop(&self.folded, COPIES_BUT_NUMBERS)
    }
}

/// Whether `tail` ends in a unit repeated back to back, long enough to be a loop.
fn ends_in_loop(tail: &[char], copies: [usize; 2]) -> bool {
    let s = &tail[tail.len().saturating_sub(WINDOW)..];
    let n = s.len();
    (1..=n / 2).any(|p| {
        // Length of the output's end that has period `p`.
        let run = p + (p..n).rev().take_while(|&i| s[i] == s[i - p]).count();
        let needed = copies[usize::from(p < MIN_REPEAT_LINE)];
        run >= MIN_LOOP_CHARS && run / p >= needed && s[n - p..].iter().any(|c| c.is_alphanumeric())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Feeds `text` word by word, as a model streams it; the index of the word that ended
    /// it, if one did.
    fn stops_at(text: &str) -> Option<usize> {
        let mut g = RepeatGuard::default();
        text.split_inclusive(' ').position(|p| g.push(p))
    }

    #[test]
    fn a_repeated_line_ends_the_generation_list_numbers_aside() {
        let mut g = RepeatGuard::default();
        assert!(!g.push("1. Run a manual failover to Ireland.\n2. Use a server"));
        assert!(!g.push(" to host the failover.\n"));
        assert!(g.push("3. Use a server to host the failover.\n"));
        // Short and blank lines may repeat.
        let mut g = RepeatGuard::default();
        assert!(!g.push("Steps:\n\n- a\n\nSteps:\n- a\n"));
    }

    /// The loops SmolLM2-135M produced on the Q&A set (shapes, not its values).
    #[test]
    fn loops_within_a_line_and_of_short_lines_end_it() {
        for looping in [
            "1. 1.1.1.1.1.1.1.1.1.1.1.1.1.1.1.1.1.1.1.1.1.1.1.1.1.1.1",
            "The answer is:\n\nThe answer is:\n\nThe answer is:\n\n",
            "Deployment: 20%\nDeployment: 20%\nDeployment: 20%\nDeployment: 20%\n",
            "The [1] is a [2] source. The [3] is a [4] source. The [5] is a [6] source. \
             The [7] is a [8] source. The [9] is a [10] source.",
            "The sources are:\n- [1]\n- [2]\n- [3]\n- [4]\n- [5]\n- [6]\n- [7]\n- [8]\n",
            "It was made to avoid the [1] [2] [3] [4] [5] [6] [7] [8] [9] [10] [11] [12]",
            "The value is 1. The value is 1. The value is 1. The value is 1.",
            "Residency — 2027 — 2027 — 2027 — 2027 — 2027 — 2027 — 2027 — 2027",
            "PASSWORD_PASSWORD_PASSWORD_PASSWORD_PASSWORD_PASSWORD_",
            "- People\n- People\n- People\n- People\n- People\n",
        ] {
            assert!(stops_at(looping).is_some(), "not caught: {looping:?}");
        }
    }

    #[test]
    fn a_loop_is_caught_soon_after_it_starts() {
        let text = "Answer: 1. 2. 3. 4. 5. 6. 7. 8. 9. 10. 11. 12. 13. 14. 15. 16. 17. 18. 19.";
        // "0. " is 3 symbols: 32 of them are 11 numbers after the first.
        assert!(
            stops_at(text).is_some_and(|i| i <= 12),
            "{:?}",
            stops_at(text)
        );
    }

    #[test]
    fn ordinary_answers_are_not_loops() {
        for fine in [
            "Fail over with `pgctl promote` on the replica [1], then repoint the DNS record \
             to the new primary [2]. Check replication lag first: it must be under 5 s [1].",
            "| step | owner | time |\n|---|---|---|\n| 1 | SRE | 5 min |\n| 2 | DBA | 10 min |\n",
            "Ports: 80, 443, 8080, 9090.\n==============================================\n",
            "Backups are kept 35 days [1]. Snapshots are kept 7 days [2]. Logs: 90 days [3].",
            "Tier 1 costs 10 EUR. Tier 2 costs 20 EUR. Tier 3 costs 40 EUR.",
            "- Phase 1: 5%\n- Phase 2: 25%\n- Phase 3: 50%\n- Phase 4: 75%\n- Phase 5: 100%\n",
            "1. Stop the writer.\n2. Promote the replica.\n3. Repoint the DNS.\n4. Verify.\n",
            "ha ha ha",
            "............................................................",
        ] {
            assert_eq!(stops_at(fine), None, "cut: {fine:?}");
        }
    }

    #[test]
    fn the_window_stays_bounded_and_digits_fold_across_pieces() {
        let mut g = RepeatGuard::default();
        for i in 0..2_000u32 {
            // Distinct words: no loop, however long the answer.
            let word: String = (0..3)
                .map(|k| char::from(b'a' + ((i * 7_919 + k * 104_729) % 26) as u8))
                .collect();
            assert!(!g.push(&format!("{word}{i:x} ")));
        }
        assert!(g.tail.len() <= 2 * WINDOW && g.folded.len() <= 2 * WINDOW);
        let mut g = RepeatGuard::default();
        g.push("12");
        g.push("34 ");
        assert_eq!(g.folded, vec!['0', ' ']);
    }
}
