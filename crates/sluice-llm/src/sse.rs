//! A minimal server-sent-events line parser for OpenAI-style streams.
//!
//! Written by hand rather than with an SSE crate because the subset needed is small
//! (`data:` lines, blank-line event ends, comments) and because it must enforce a
//! line-length limit: an upstream that never sends a newline must not grow memory.

/// Longest line accepted, in bytes.
pub(crate) const MAX_LINE: usize = 1 << 20;

/// Turns body bytes into complete event payloads (the joined `data:` lines).
#[derive(Debug, Default)]
pub(crate) struct SseParser {
    line: Vec<u8>,
    data: Option<String>,
}

impl SseParser {
    /// Feeds bytes; returns the payloads of the events they complete.
    pub(crate) fn push(&mut self, bytes: &[u8]) -> Result<Vec<String>, String> {
        let mut events = Vec::new();
        for chunk in bytes.split_inclusive(|b| *b == b'\n') {
            self.line.extend_from_slice(chunk);
            if self.line.len() > MAX_LINE {
                return Err(format!("an event line is longer than {MAX_LINE} bytes"));
            }
            if self.line.last() == Some(&b'\n') {
                let mut line = std::mem::take(&mut self.line);
                line.pop();
                if line.last() == Some(&b'\r') {
                    line.pop();
                }
                self.line_done(&line, &mut events)?;
            }
        }
        Ok(events)
    }

    /// Ends the body: an event not closed by a blank line still counts.
    pub(crate) fn finish(&mut self) -> Result<Vec<String>, String> {
        let mut events = Vec::new();
        let line = std::mem::take(&mut self.line);
        if !line.is_empty() {
            self.line_done(&line, &mut events)?;
        }
        events.extend(self.data.take());
        Ok(events)
    }

    fn line_done(&mut self, line: &[u8], events: &mut Vec<String>) -> Result<(), String> {
        if line.is_empty() {
            events.extend(self.data.take());
            return Ok(());
        }
        let line =
            std::str::from_utf8(line).map_err(|_| "an event line is not UTF-8".to_string())?;
        let (field, value) = match line.split_once(':') {
            Some((f, v)) => (f, v.strip_prefix(' ').unwrap_or(v)),
            None => (line, ""),
        };
        // Comments (`: keep-alive`) have an empty field; `event`, `id`, `retry` are unused.
        if field == "data" {
            match &mut self.data {
                Some(d) => {
                    d.push('\n');
                    d.push_str(value);
                }
                None => self.data = Some(value.to_string()),
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn events_split_anywhere() {
        let body =
            b": ping\r\ndata: {\"a\":1}\r\n\r\ndata: x\ndata: y\n\nevent: e\ndata: [DONE]\n\n";
        for cut in 0..body.len() {
            let mut p = SseParser::default();
            let mut got = p.push(&body[..cut]).unwrap();
            got.extend(p.push(&body[cut..]).unwrap());
            got.extend(p.finish().unwrap());
            assert_eq!(got, ["{\"a\":1}", "x\ny", "[DONE]"], "cut at {cut}");
        }
    }

    #[test]
    fn unterminated_event_and_long_line() {
        let mut p = SseParser::default();
        assert!(p.push(b"data: tail").unwrap().is_empty());
        assert_eq!(p.finish().unwrap(), ["tail"]);
        let mut p = SseParser::default();
        assert!(p.push(&vec![b'a'; MAX_LINE + 1]).is_err());
    }
}
