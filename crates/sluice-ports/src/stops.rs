//! Stop strings found in text that arrives in pieces (used by the model backends on raw
//! output and by the answer path on redacted output).

/// Finds stop strings in text that arrives in pieces. Used by the backends on raw output
/// and by the answer path on *redacted* output (where the caller's stop strings belong: a
/// stop applied before redaction could cut a value in two).
#[derive(Debug)]
pub struct StopFilter {
    stops: Vec<String>,
    pending: String,
}

impl StopFilter {
    /// A filter for `stops` (empty strings are ignored).
    pub fn new(stops: Vec<String>) -> Self {
        Self {
            stops: stops.into_iter().filter(|s| !s.is_empty()).collect(),
            pending: String::new(),
        }
    }

    /// Adds a piece; returns the text now safe to emit and whether a stop string was found
    /// (after which nothing more must be emitted).
    pub fn push(&mut self, piece: &str) -> (String, bool) {
        self.pending.push_str(piece);
        if let Some(pos) = self
            .stops
            .iter()
            .filter_map(|s| self.pending.find(s.as_str()))
            .min()
        {
            let out = self.pending[..pos].to_string();
            self.pending.clear();
            return (out, true);
        }
        // Hold back the longest tail that is a proper prefix of some stop string.
        let len = self.pending.len();
        let hold = (1..len.min(self.max_stop_len()) + 1)
            .rev()
            .filter(|k| *k <= len && self.pending.is_char_boundary(len - k))
            .find(|k| {
                self.stops
                    .iter()
                    .any(|s| s.starts_with(&self.pending[len - k..]))
            })
            .unwrap_or(0);
        let tail = self.pending.split_off(len - hold);
        (std::mem::replace(&mut self.pending, tail), false)
    }

    /// The held-back text, at the end of the stream.
    pub fn finish(&mut self) -> String {
        std::mem::take(&mut self.pending)
    }

    /// Whether the filter has no stop string (then it never holds anything back).
    pub fn is_empty(&self) -> bool {
        self.stops.is_empty()
    }

    fn max_stop_len(&self) -> usize {
        self.stops.iter().map(String::len).max().unwrap_or(0)
    }
}
