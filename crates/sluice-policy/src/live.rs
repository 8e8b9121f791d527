//! Which matches may still be in progress at the end of a stream: the streaming redactor's
//! per-position hold-back.
//!
//! Text can be released once no detector can still match across it. Rather than holding back
//! the policy's longest possible match everywhere (1.6 KB for the default packs, so every
//! short answer arrived in one piece at the end), the stream runs one lazy DFA over every
//! detector's pattern, the deny-list keywords and the encoded-run patterns, *anchored* at each
//! position of the text, and keeps the starts whose DFA state is still alive at the end of
//! what has arrived. A start whose state died can never begin a match that includes later
//! text, whatever comes; a live one might. The earliest live start is the frontier: nothing
//! before it can be part of a match that is not yet complete. For prose the live starts are
//! the current word (token-shaped secrets cannot span a space), and they reach further back
//! only when the tail really looks like the start of something (`Server=…;` before a
//! `Password=`, `-----BEGIN`, an e-mail's local part).
//!
//! Context words can change whether a complete match is accepted (a required label, a score
//! boost) until the text within the detector's context window after it has arrived, so a
//! match of a detector with context words keeps its start held until then.
//!
//! States of the shared DFA are deduplicated (two starts in the same state have the same
//! future, so only the earlier one matters), which keeps the work per byte at a handful of
//! transitions. All of this is derived from the compiled patterns, never from a hand-kept
//! list, so a new detector file gets a correct hold-back with no extra work.

use std::sync::Mutex;

use regex_automata::Anchored;
use regex_automata::hybrid::LazyStateID;
use regex_automata::hybrid::dfa::{Cache, DFA};
use regex_automata::util::start;

/// Lazy-DFA cache per stream. Streams are short and see few distinct states.
const CACHE_CAPACITY: usize = 4 << 20;

/// One pattern the tracker follows, and how far after the end of its match a context word can
/// still change whether the match counts (`None`: no context words).
pub(crate) struct LivePattern {
    pub pattern: String,
    pub context_reach: Option<usize>,
}

/// The compiled automaton shared by every stream of a policy.
pub(crate) struct LiveSet {
    dfa: DFA,
    context_reach: Vec<Option<usize>>,
    /// Caches returned by finished streams, so a new stream starts with the states the earlier
    /// ones determinised.
    caches: Mutex<Vec<Cache>>,
}

impl LiveSet {
    pub fn build(patterns: &[LivePattern]) -> Result<Self, String> {
        Self::build_with_cache(patterns, CACHE_CAPACITY)
    }

    fn build_with_cache(patterns: &[LivePattern], capacity: usize) -> Result<Self, String> {
        let dfa = DFA::builder()
            .syntax(
                regex_automata::util::syntax::Config::new()
                    .unicode(false)
                    .utf8(false),
            )
            .configure(
                DFA::config()
                    .match_kind(regex_automata::MatchKind::All)
                    .cache_capacity(capacity)
                    .skip_cache_capacity_check(true),
            )
            .build_many(&patterns.iter().map(|p| &p.pattern).collect::<Vec<_>>())
            .map_err(|e| e.to_string())?;
        Ok(Self {
            dfa,
            context_reach: patterns.iter().map(|p| p.context_reach).collect(),
            caches: Mutex::new(Vec::new()),
        })
    }

    pub fn tracker(&self) -> Tracker {
        let cache = self
            .caches
            .lock()
            .ok()
            .and_then(|mut c| c.pop())
            .unwrap_or_else(|| self.dfa.create_cache());
        Tracker {
            cache: Some(cache),
            live: Vec::new(),
            context: Vec::new(),
            pos: 0,
            last_match_end: 0,
            prev: None,
            failed: false,
        }
    }

    pub fn give_back(&self, tracker: &mut Tracker) {
        if let (Some(cache), Ok(mut pool)) = (tracker.cache.take(), self.caches.lock())
            && pool.len() < 64
        {
            pool.push(cache);
        }
    }
}

impl Tracker {
    /// A tracker for a policy whose automaton could not be built: every frontier falls
    /// back to the static hold-back.
    pub fn failed() -> Self {
        Tracker {
            cache: None,
            live: Vec::new(),
            context: Vec::new(),
            pos: 0,
            last_match_end: usize::MAX,
            prev: None,
            failed: true,
        }
    }
}

/// A start whose anchored DFA state is still alive.
#[derive(Clone, Copy)]
struct Live {
    /// Absolute view offset of the start.
    start: usize,
    /// The byte before the start (look-behind for `\b`), to replay after a cache clear.
    before: Option<u8>,
    state: LazyStateID,
}

/// The live starts of one stream. Positions are absolute offsets in the stream's view.
pub(crate) struct Tracker {
    cache: Option<Cache>,
    live: Vec<Live>,
    /// Complete matches of detectors with context words: (start, view end after which no
    /// context word can change them).
    context: Vec<(usize, usize)>,
    /// View bytes fed so far.
    pos: usize,
    /// Where the last complete match of any pattern ended (0: none yet).
    last_match_end: usize,
    prev: Option<u8>,
    /// The automaton gave up (it never should with ASCII-only look-around): the caller falls
    /// back to the policy's static hold-back.
    failed: bool,
}

impl Tracker {
    /// Feeds the next view bytes. `view` holds at least every byte from the earliest live
    /// start to the end, and starts at absolute offset `view_base`.
    pub fn feed(&mut self, set: &LiveSet, view: &[u8], view_base: usize) {
        let end = view_base + view.len();
        while self.pos < end && !self.failed {
            let b = view[self.pos - view_base];
            if self.step(set, b).is_err() {
                // A clear in the middle of a replay invalidates it too: try a few times.
                self.failed = !(0..3).any(|_| self.replay(set, view, view_base));
            }
            self.prev = Some(b);
            self.pos += 1;
        }
    }

    /// One byte at `self.pos`: a new start there, then every live start advanced over it.
    fn step(&mut self, set: &LiveSet, b: u8) -> Result<(), ()> {
        let cache = self.cache.as_mut().ok_or(())?;
        let clears = cache.clear_count();
        let cfg = start::Config::new()
            .anchored(Anchored::Yes)
            .look_behind(self.prev);
        let state = set.dfa.start_state(cache, &cfg).map_err(|_| ())?;
        self.live.push(Live {
            start: self.pos,
            before: self.prev,
            state,
        });
        let mut kept: Vec<Live> = Vec::with_capacity(self.live.len());
        for l in &self.live {
            let next = set.dfa.next_state(cache, l.state, b).map_err(|_| ())?;
            if cache.clear_count() != clears {
                // Clearing the cache invalidated the states still held: replay them.
                return Err(());
            }
            if next.is_match() {
                self.last_match_end = self.pos;
                record_context(set, cache, next, l.start, self.pos, &mut self.context);
            }
            if next.is_dead() {
                continue;
            }
            // Same state, same future: only the earliest start matters.
            if let Some(k) = kept.iter_mut().find(|k| k.state == next) {
                k.start = k.start.min(l.start);
            } else {
                kept.push(Live { state: next, ..*l });
            }
        }
        self.live = kept;
        Ok(())
    }

    /// Recomputes every live state from its start after the cache was cleared, up to and
    /// including the byte at `self.pos`. Returns false if the automaton keeps failing.
    fn replay(&mut self, set: &LiveSet, view: &[u8], view_base: usize) -> bool {
        let Some(cache) = self.cache.as_mut() else {
            return false;
        };
        let clears = cache.clear_count();
        let mut starts: Vec<(usize, Option<u8>)> =
            self.live.iter().map(|l| (l.start, l.before)).collect();
        starts.push((self.pos, self.prev));
        starts.sort_unstable_by_key(|s| s.0);
        starts.dedup_by_key(|s| s.0);
        let mut rebuilt = Vec::with_capacity(starts.len());
        for (s, before) in starts {
            if s < view_base {
                return false;
            }
            let cfg = start::Config::new()
                .anchored(Anchored::Yes)
                .look_behind(before);
            let Ok(mut state) = set.dfa.start_state(cache, &cfg) else {
                return false;
            };
            let mut alive = true;
            for (i, &b) in view[s - view_base..=self.pos - view_base]
                .iter()
                .enumerate()
            {
                let Ok(next) = set.dfa.next_state(cache, state, b) else {
                    return false;
                };
                if next.is_match() {
                    self.last_match_end = self.last_match_end.max(s + i);
                    record_context(set, cache, next, s, s + i, &mut self.context);
                }
                state = next;
                if state.is_dead() {
                    alive = false;
                    break;
                }
            }
            if cache.clear_count() != clears {
                // Cleared again while replaying: the states rebuilt so far are stale.
                return false;
            }
            if alive {
                rebuilt.push(Live {
                    start: s,
                    before,
                    state,
                });
            }
        }
        self.live = rebuilt;
        true
    }

    /// Where the last complete match of any pattern ended (`usize::MAX` if the automaton
    /// failed): text after it has not matched anything yet.
    pub fn last_match_end(&self) -> usize {
        if self.failed {
            usize::MAX
        } else {
            self.last_match_end
        }
    }

    /// The earliest absolute view offset that may still be part of a match that is not
    /// complete (or whose acceptance may still change) when the view ends at `end`; `end -
    /// fallback` (the static hold-back) if the automaton failed. `None`: nothing is pending.
    pub fn frontier(&mut self, end: usize, fallback: usize) -> Option<usize> {
        if self.failed {
            return Some(end.saturating_sub(fallback));
        }
        self.context.retain(|&(_, until)| until > end);
        let live = self.live.iter().map(|l| l.start);
        let ctx = self.context.iter().map(|c| c.0);
        live.chain(ctx).min()
    }
}

/// Notes a complete match (ending before the byte at `end`) of a pattern with context words.
fn record_context(
    set: &LiveSet,
    cache: &Cache,
    state: LazyStateID,
    start: usize,
    end: usize,
    context: &mut Vec<(usize, usize)>,
) {
    let reach = (0..set.dfa.match_len(cache, state))
        .filter_map(|i| set.context_reach[set.dfa.match_pattern(cache, state, i).as_usize()])
        .max();
    if let Some(r) = reach {
        context.push((start, end + r));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn patterns() -> Vec<LivePattern> {
        [
            (r"AKIA[0-9A-Z]{16}", None),
            (r"(?i)password\s{0,2}[:=]\s{0,2}[^\s]{1,64}", None),
            (r"[a-z0-9._%+-]{1,64}@[a-z0-9.-]{1,253}\.[a-z]{2,24}", None),
            (r"\b[0-9]{3}-[0-9]{2}-[0-9]{4}\b", Some(20)),
        ]
        .into_iter()
        .map(|(p, c)| LivePattern {
            pattern: p.to_owned(),
            context_reach: c,
        })
        .collect()
    }

    const TEXT: &str = "The key AKIAZ7QWUUY2R6U7D4WS is old; mail jane.doe@example.org, \
        password: hunter2hunter2 and SSN 123-45-6789 was filed. Plain words follow here.";

    fn frontiers(set: &LiveSet) -> (Vec<Option<usize>>, usize) {
        let mut t = set.tracker();
        let bytes = TEXT.as_bytes();
        let mut out = Vec::new();
        for end in 1..=bytes.len() {
            t.feed(set, &bytes[..end], 0);
            out.push(t.frontier(end, 1000));
        }
        let clears = t.cache.as_ref().map_or(0, Cache::clear_count);
        (out, clears)
    }

    #[test]
    fn frontiers_survive_cache_clears() {
        let big = LiveSet::build(&patterns()).expect("builds");
        // 32 KB holds a replay's states but not the whole run's: it is cleared, and the
        // replayed frontiers are the same. (Smaller caches fall back to the static hold-back.)
        let small = LiveSet::build_with_cache(&patterns(), 32 << 10).expect("builds");
        let (want, _) = frontiers(&big);
        let (got, clears) = frontiers(&small);
        assert!(clears > 0, "the small cache was never cleared");
        assert_eq!(got, want);
    }

    #[test]
    fn a_value_holds_the_frontier_until_it_is_complete() {
        let set = LiveSet::build(&patterns()).expect("builds");
        let (f, _) = frontiers(&set);
        let key = TEXT.find("AKIA").expect("key");
        // Mid-key, the frontier is the key's start; after "is", it has moved past it.
        assert_eq!(f[key + 10], Some(key));
        let after = TEXT.find(" is old").expect("after") + 4;
        assert!(f[after].is_none_or(|p| p > key), "{:?}", f[after]);
        // The SSN's start is held for its context window after it.
        let ssn = TEXT.find("123-45").expect("ssn");
        let end = ssn + "123-45-6789".len();
        assert_eq!(f[end + 10], Some(ssn));
        assert!(f[end + 25].is_none_or(|p| p > ssn));
    }

    #[test]
    fn a_failed_tracker_falls_back_to_the_static_hold_back() {
        let mut t = Tracker::failed();
        assert_eq!(t.frontier(5000, 1591), Some(5000 - 1591));
    }
}
