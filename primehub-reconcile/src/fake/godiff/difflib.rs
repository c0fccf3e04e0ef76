//! A port of `github.com/pmezard/go-difflib` (v1.0.1-0.20181226105442-5d4384ee4fb2), itself a
//! port of Python's `difflib`: the `SequenceMatcher` (Ratcliff/Obershelp longest junk-free
//! matches, with the *autojunk* heuristic: in a second sequence of 200 lines or more, a line
//! that occurs more than `len/100 + 1` times is "popular" and never starts a match) and
//! `WriteUnifiedDiff` without file headers, as `k8s.io/apimachinery/pkg/util/diff.Diff` calls
//! it (`Context: 3`). The fixtures in `difflib.json.gz` are go-difflib's own answers
//! (`tools/internal-layout`).

use std::collections::{HashMap, HashSet};

/// `difflib.SplitLines`: `s` split after each `\n`, the last piece given a `\n` too.
pub(crate) fn split_lines(s: &str) -> Vec<String> {
    let mut lines: Vec<String> = s.split_inclusive('\n').map(str::to_owned).collect();
    if s.is_empty() || s.ends_with('\n') {
        lines.push(String::new());
    }
    if let Some(last) = lines.last_mut() {
        last.push('\n');
    }
    lines
}

/// A matching block: `a[a..a+size] == b[b..b+size]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
struct Match {
    a: usize,
    b: usize,
    size: usize,
}

/// An edit operation: `tag` is `r`eplace, `d`elete, `i`nsert or `e`qual.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct OpCode {
    tag: u8,
    i1: usize,
    i2: usize,
    j1: usize,
    j2: usize,
}

/// go-difflib's `SequenceMatcher` as `NewMatcher` makes it: no junk function, autojunk on.
struct SequenceMatcher<'s> {
    a: &'s [String],
    b: &'s [String],
    /// Line of `b` → its indices, popular lines removed.
    b2j: HashMap<&'s str, Vec<usize>>,
}

impl<'s> SequenceMatcher<'s> {
    fn new(a: &'s [String], b: &'s [String]) -> Self {
        let mut b2j: HashMap<&'s str, Vec<usize>> = HashMap::new();
        for (i, s) in b.iter().enumerate() {
            b2j.entry(s.as_str()).or_default().push(i);
        }
        // No IsJunk: bJunk stays empty. Autojunk: purge the popular lines.
        let n = b.len();
        if n >= 200 {
            let ntest = n / 100 + 1;
            let popular: HashSet<&str> = b2j
                .iter()
                .filter(|(_, idx)| idx.len() > ntest)
                .map(|(s, _)| *s)
                .collect();
            for s in popular {
                b2j.remove(s);
            }
        }
        SequenceMatcher { a, b, b2j }
    }

    /// `findLongestMatch` in `a[alo..ahi]`, `b[blo..bhi]`: of the longest matches the one
    /// starting earliest in `a`, then in `b`; extended by equal (popular) lines on both ends.
    fn find_longest_match(&self, alo: usize, ahi: usize, blo: usize, bhi: usize) -> Match {
        let (mut besti, mut bestj, mut bestsize) = (alo, blo, 0);
        let mut j2len: HashMap<usize, usize> = HashMap::new();
        for i in alo..ahi {
            let mut newj2len: HashMap<usize, usize> = HashMap::new();
            if let Some(js) = self.b2j.get(self.a[i].as_str()) {
                for &j in js {
                    if j < blo {
                        continue;
                    }
                    if j >= bhi {
                        break;
                    }
                    let k = j
                        .checked_sub(1)
                        .and_then(|p| j2len.get(&p))
                        .copied()
                        .unwrap_or(0)
                        + 1;
                    newj2len.insert(j, k);
                    if k > bestsize {
                        besti = i + 1 - k;
                        bestj = j + 1 - k;
                        bestsize = k;
                    }
                }
            }
            j2len = newj2len;
        }
        // bJunk is empty, so only the first pair of extension loops can move: they take in
        // the popular lines (not in b2j) next to the match.
        while besti > alo && bestj > blo && self.a[besti - 1] == self.b[bestj - 1] {
            besti -= 1;
            bestj -= 1;
            bestsize += 1;
        }
        while besti + bestsize < ahi
            && bestj + bestsize < bhi
            && self.a[besti + bestsize] == self.b[bestj + bestsize]
        {
            bestsize += 1;
        }
        Match {
            a: besti,
            b: bestj,
            size: bestsize,
        }
    }

    /// `GetMatchingBlocks`: the matches in order, adjacent ones merged, ending with the
    /// sentinel `(len(a), len(b), 0)`.
    fn matching_blocks(&self) -> Vec<Match> {
        // go-difflib recurses left, match, right; a work list and a sort give the same list
        // (the matches are disjoint and increasing in both sequences) without deep recursion.
        let mut todo = vec![(0, self.a.len(), 0, self.b.len())];
        let mut matched = Vec::new();
        while let Some((alo, ahi, blo, bhi)) = todo.pop() {
            let m = self.find_longest_match(alo, ahi, blo, bhi);
            if m.size > 0 {
                if alo < m.a && blo < m.b {
                    todo.push((alo, m.a, blo, m.b));
                }
                if m.a + m.size < ahi && m.b + m.size < bhi {
                    todo.push((m.a + m.size, ahi, m.b + m.size, bhi));
                }
                matched.push(m);
            }
        }
        matched.sort();
        let mut out = Vec::new();
        let (mut i1, mut j1, mut k1) = (0, 0, 0);
        for m in matched {
            if i1 + k1 == m.a && j1 + k1 == m.b {
                k1 += m.size;
            } else {
                if k1 > 0 {
                    out.push(Match {
                        a: i1,
                        b: j1,
                        size: k1,
                    });
                }
                (i1, j1, k1) = (m.a, m.b, m.size);
            }
        }
        if k1 > 0 {
            out.push(Match {
                a: i1,
                b: j1,
                size: k1,
            });
        }
        out.push(Match {
            a: self.a.len(),
            b: self.b.len(),
            size: 0,
        });
        out
    }

    /// `GetOpCodes`.
    fn opcodes(&self) -> Vec<OpCode> {
        let (mut i, mut j) = (0, 0);
        let mut codes = Vec::new();
        for m in self.matching_blocks() {
            let tag = if i < m.a && j < m.b {
                Some(b'r')
            } else if i < m.a {
                Some(b'd')
            } else if j < m.b {
                Some(b'i')
            } else {
                None
            };
            if let Some(tag) = tag {
                codes.push(OpCode {
                    tag,
                    i1: i,
                    i2: m.a,
                    j1: j,
                    j2: m.b,
                });
            }
            (i, j) = (m.a + m.size, m.b + m.size);
            if m.size > 0 {
                codes.push(OpCode {
                    tag: b'e',
                    i1: m.a,
                    i2: i,
                    j1: m.b,
                    j2: j,
                });
            }
        }
        codes
    }

    /// `GetGroupedOpCodes(n)`: the changes with up to `n` lines of context, split where
    /// more than `2n` lines are equal.
    fn grouped_opcodes(&self, n: usize) -> Vec<Vec<OpCode>> {
        let mut codes = self.opcodes();
        if codes.is_empty() {
            codes.push(OpCode {
                tag: b'e',
                i1: 0,
                i2: 1,
                j1: 0,
                j2: 1,
            });
        }
        if let Some(c) = codes.first_mut()
            && c.tag == b'e'
        {
            c.i1 = c.i1.max(c.i2.saturating_sub(n));
            c.j1 = c.j1.max(c.j2.saturating_sub(n));
        }
        if let Some(c) = codes.last_mut()
            && c.tag == b'e'
        {
            c.i2 = c.i2.min(c.i1 + n);
            c.j2 = c.j2.min(c.j1 + n);
        }
        let nn = n + n;
        let mut groups = Vec::new();
        let mut group = Vec::new();
        for c in codes {
            let (mut i1, mut j1) = (c.i1, c.j1);
            if c.tag == b'e' && c.i2 - c.i1 > nn {
                group.push(OpCode {
                    tag: b'e',
                    i1,
                    i2: c.i2.min(i1 + n),
                    j1,
                    j2: c.j2.min(j1 + n),
                });
                groups.push(std::mem::take(&mut group));
                i1 = i1.max(c.i2.saturating_sub(n));
                j1 = j1.max(c.j2.saturating_sub(n));
            }
            group.push(OpCode { i1, j1, ..c });
        }
        if !group.is_empty() && !matches!(group.as_slice(), [only] if only.tag == b'e') {
            groups.push(group);
        }
        groups
    }
}

/// `formatRangeUnified`: `start+1` and the length, the length left out when 1.
fn format_range(start: usize, stop: usize) -> String {
    let beginning = start + 1;
    let length = stop - start;
    match length {
        1 => beginning.to_string(),
        0 => format!("{},0", beginning - 1),
        _ => format!("{beginning},{length}"),
    }
}

/// `GetUnifiedDiffString` of lines `a` and `b` (each ending in `\n`) with `context` lines of
/// context and no file names: `@@ -a,b +c,d @@` hunks of ` `, `-` and `+` lines.
pub(crate) fn unified_diff(a: &[String], b: &[String], context: usize) -> String {
    let matcher = SequenceMatcher::new(a, b);
    let mut out = String::new();
    for group in matcher.grouped_opcodes(context) {
        let (Some(first), Some(last)) = (group.first(), group.last()) else {
            continue;
        };
        out.push_str(&format!(
            "@@ -{} +{} @@\n",
            format_range(first.i1, last.i2),
            format_range(first.j1, last.j2)
        ));
        for c in &group {
            if c.tag == b'e' {
                for line in &a[c.i1..c.i2] {
                    out.push(' ');
                    out.push_str(line);
                }
                continue;
            }
            if c.tag == b'r' || c.tag == b'd' {
                for line in &a[c.i1..c.i2] {
                    out.push('-');
                    out.push_str(line);
                }
            }
            if c.tag == b'r' || c.tag == b'i' {
                for line in &b[c.j1..c.j2] {
                    out.push('+');
                    out.push_str(line);
                }
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use std::io::Read;

    use proptest::prelude::*;
    use serde::Deserialize;

    use super::*;

    #[derive(Deserialize)]
    struct Case {
        a: String,
        b: String,
        diff: String,
    }

    fn diff(a: &str, b: &str) -> String {
        unified_diff(&split_lines(a), &split_lines(b), 3)
    }

    #[test]
    fn split_lines_as_go() {
        assert_eq!(split_lines(""), vec!["\n"]);
        assert_eq!(split_lines("a"), vec!["a\n"]);
        assert_eq!(split_lines("a\nb"), vec!["a\n", "b\n"]);
        assert_eq!(split_lines("a\n"), vec!["a\n", "\n"]);
    }

    #[test]
    fn ranges_as_go() {
        assert_eq!(format_range(0, 0), "0,0");
        assert_eq!(format_range(4, 4), "4,0");
        assert_eq!(format_range(4, 5), "5");
        assert_eq!(format_range(12, 19), "13,7");
    }

    #[test]
    fn equal_texts_have_no_diff() {
        assert_eq!(diff("", ""), "");
        assert_eq!(diff("a\nb", "a\nb"), "");
    }

    #[test]
    fn a_small_change() {
        let a = "{\n \"A\": 1,\n \"B\": 2,\n \"C\": 3,\n \"D\": 4,\n \"E\": 5\n}";
        let b = a.replace("\"C\": 3", "\"C\": 30");
        assert_eq!(
            diff(a, &b),
            "@@ -1,7 +1,7 @@\n {\n  \"A\": 1,\n  \"B\": 2,\n- \"C\": 3,\n+ \"C\": 30,\n  \"D\": 4,\n  \"E\": 5\n }\n"
        );
    }

    /// go-difflib's own answers for 150 pseudo-random pairs (`tools/internal-layout difflib`;
    /// Python's difflib gives the same): short texts over small alphabets, and texts of 180
    /// to 380 lines where autojunk drops the popular lines.
    #[test]
    fn go_difflib_fixtures() {
        let mut raw = Vec::new();
        let read = flate2::read::GzDecoder::new(&include_bytes!("difflib.json.gz")[..])
            .read_to_end(&mut raw);
        assert!(read.is_ok());
        let cases: Vec<Case> = serde_json::from_slice(&raw).unwrap_or_default();
        assert_eq!(cases.len(), 150);
        let long = cases.iter().filter(|c| c.b.lines().count() >= 200).count();
        assert!(long >= 10, "{long} cases exercise autojunk");
        for (n, c) in cases.iter().enumerate() {
            assert_eq!(diff(&c.a, &c.b), c.diff, "case {n}");
        }
    }

    /// Applies a unified diff to `a`: the hunks' ` ` and `-` lines must be `a`'s, in order, and
    /// the result is `a` with each hunk's lines replaced by its ` ` and `+` lines.
    fn patch(a: &[String], diff: &str) -> Option<Vec<String>> {
        let mut out = Vec::new();
        let mut at = 0;
        let lines: Vec<&str> = diff.split_inclusive('\n').collect();
        let mut i = 0;
        while i < lines.len() {
            let header = lines[i].strip_prefix("@@ -")?;
            let old = header.split(' ').next()?;
            let mut parts = old.split(',');
            let start: usize = parts.next()?.parse().ok()?;
            let len: usize = parts.next().map_or(Some(1), |l| l.parse().ok())?;
            let begin = if len == 0 { start } else { start - 1 };
            if begin < at {
                return None;
            }
            out.extend_from_slice(&a[at..begin]);
            at = begin;
            i += 1;
            while i < lines.len() && !lines[i].starts_with("@@") {
                let (sign, text) = lines[i].split_at(1);
                match sign {
                    " " | "-" => {
                        if a.get(at).map(String::as_str) != Some(text) {
                            return None;
                        }
                        at += 1;
                        if sign == " " {
                            out.push(text.to_owned());
                        }
                    }
                    "+" => out.push(text.to_owned()),
                    _ => return None,
                }
                i += 1;
            }
        }
        out.extend_from_slice(a.get(at..)?);
        Some(out)
    }

    fn lines(max: usize, alphabet: u8) -> impl Strategy<Value = Vec<String>> {
        prop::collection::vec((0..alphabet).prop_map(|c| format!("l{c}\n")), 0..max)
    }

    proptest! {
        /// Every diff, applied to the first text, gives the second; equal texts give none;
        /// no hunk carries more than 3 equal lines at its ends.
        #[test]
        fn diffs_apply(a in lines(60, 6), b in lines(60, 6)) {
            let d = unified_diff(&a, &b, 3);
            prop_assert_eq!(patch(&a, &d), Some(b.clone()));
            prop_assert_eq!(unified_diff(&a, &a, 3), "");
            for hunk in d.split("@@ -").skip(1) {
                let body: Vec<&str> = hunk.lines().skip(1).collect();
                let lead = body.iter().take_while(|l| l.starts_with(' ')).count();
                let trail = body.iter().rev().take_while(|l| l.starts_with(' ')).count();
                prop_assert!(lead <= 3 && trail <= 3, "{}", d);
            }
        }

        /// Long texts (autojunk): still a correct patch.
        #[test]
        fn long_diffs_apply(a in lines(400, 4), edits in prop::collection::vec((0usize..400, 0u8..4), 1..8)) {
            let mut b = a.clone();
            for (at, c) in edits {
                if b.is_empty() || at % 2 == 0 {
                    b.insert(at.min(b.len()), format!("n{c}\n"));
                } else {
                    let at = at % b.len();
                    b.remove(at);
                }
            }
            let d = unified_diff(&a, &b, 3);
            prop_assert_eq!(patch(&a, &d), Some(b));
        }
    }
}
