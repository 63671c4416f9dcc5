//! The output lines and the placing of comments and blank lines around what is printed.
//!
//! Every comment is placed exactly once, by where it sits in the source:
//! - on its own line before a statement, entry or block: printed on its own line before it;
//! - after a statement on the same line: printed after it, two spaces before the `#`;
//! - right after a `{` on the same line: printed after the `{`;
//! - before a closing `}`: printed inside the block, before the `}`;
//! - inside a statement (between its parts): printed on its own line before the statement.
//!
//! Pest spans end after trailing whitespace and comments, so a node's end is taken as its
//! last significant byte ([`Printer::code_end`]).

use super::comments::{Comment, Scan};
use super::expr::ExprPrinter;
use crate::source::Span;

/// Where a sequence of statements, entries or blocks is printed.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Region {
    /// First byte after the opening `{` (0 for the whole file).
    pub start: usize,
    /// The closing `}` (the file's length for the whole file).
    pub close: usize,
    /// Indentation of the entries, in levels.
    pub indent: usize,
    /// The file's top level: always a blank line between entries.
    pub top: bool,
}

/// The line that opens a body: `header {`.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Head<'t> {
    /// Indentation of the header, in levels.
    pub indent: usize,
    /// Continue the last line (`} else {`) instead of starting one.
    pub join: bool,
    /// The text before the ` {`.
    pub text: &'t str,
    /// The offset of the `{` in the source.
    pub open: usize,
}

/// Builds the formatted text line by line.
pub(crate) struct Printer<'a> {
    /// The source text.
    pub src: &'a str,
    /// Expression printing for this source.
    pub exprs: ExprPrinter<'a>,
    trivia: Vec<bool>,
    comments: Vec<Comment>,
    used: Vec<bool>,
    lines: Vec<String>,
}

impl<'a> Printer<'a> {
    /// A printer for `src`, scanned as `scan`.
    pub fn new(src: &'a str, scan: Scan) -> Self {
        let used = vec![false; scan.comments.len()];
        Printer {
            src,
            exprs: ExprPrinter { src },
            trivia: scan.trivia,
            comments: scan.comments,
            used,
            lines: Vec::new(),
        }
    }

    /// The finished text: blank lines collapsed, exactly one final newline.
    pub fn finish(mut self) -> String {
        // A safety net: a comment no rule placed is kept at the end rather than lost.
        let left: Vec<String> = (0..self.comments.len())
            .filter(|&i| !self.used[i])
            .map(|i| self.comments[i].text.clone())
            .collect();
        for text in left {
            self.push(0, text);
        }
        let mut out = String::new();
        let mut blank = false;
        for line in &self.lines {
            if line.is_empty() {
                blank = !out.is_empty();
                continue;
            }
            if blank {
                out.push('\n');
                blank = false;
            }
            out.push_str(line);
            out.push('\n');
        }
        if out.is_empty() {
            out.push('\n');
        }
        out
    }

    // ───────────────────────────── lines ─────────────────────────────

    /// A new line at `indent` levels.
    pub fn push(&mut self, indent: usize, text: impl AsRef<str>) {
        let mut line = "  ".repeat(indent);
        line.push_str(text.as_ref());
        self.lines.push(line);
    }

    /// Starts a construct: on a new line, or (`join`) continuing the last one.
    pub fn start(&mut self, indent: usize, join: bool, text: impl AsRef<str>) {
        match self.lines.last_mut() {
            Some(last) if join => last.push_str(text.as_ref()),
            _ => self.push(indent, text),
        }
    }

    /// Continues the last line.
    fn append(&mut self, text: &str) {
        match self.lines.last_mut() {
            Some(last) => last.push_str(text),
            None => self.lines.push(text.to_string()),
        }
    }

    fn blank(&mut self) {
        if self.lines.last().is_some_and(|l| !l.is_empty()) {
            self.lines.push(String::new());
        }
    }

    // ──────────────────────────── source ─────────────────────────────

    /// One past the last significant byte of `span` (its start when it has none).
    pub fn code_end(&self, span: Span) -> usize {
        let mut end = span.end.min(self.trivia.len());
        while end > span.start && self.trivia[end - 1] {
            end -= 1;
        }
        end
    }

    /// The first significant byte at or after `from`.
    pub fn next_code(&self, from: usize) -> Option<usize> {
        (from..self.trivia.len()).find(|&i| !self.trivia[i])
    }

    /// The first significant byte `byte` at or after `from` (`from` when there is none).
    pub fn find_code(&self, from: usize, byte: u8) -> usize {
        let bytes = self.src.as_bytes();
        (from..self.trivia.len())
            .find(|&i| !self.trivia[i] && bytes[i] == byte)
            .unwrap_or(from)
    }

    /// The opening `{` of a body when the next significant byte after `from` is one.
    pub fn open_brace(&self, from: usize) -> Option<usize> {
        self.next_code(from)
            .filter(|&i| self.src.as_bytes()[i] == b'{')
    }

    /// The significant text of `span` with every run of whitespace and comments made one
    /// space: the fallback for a clause the syntax tree no longer holds.
    pub fn raw_code(&self, span: Span) -> String {
        let end = self.code_end(span);
        let start = span.start.min(end);
        let bytes = self.src.as_bytes();
        let mut out = Vec::new();
        let mut gap = false;
        for (&byte, &trivia) in bytes[start..end].iter().zip(&self.trivia[start..end]) {
            if trivia {
                gap = true;
                continue;
            }
            if gap && !out.is_empty() {
                out.push(b' ');
            }
            gap = false;
            out.push(byte);
        }
        String::from_utf8_lossy(&out).into_owned()
    }

    fn blank_between(&self, from: usize, to: usize) -> bool {
        self.src
            .get(from.min(to)..to)
            .is_some_and(|gap| gap.matches('\n').count() >= 2)
    }

    fn has_newline(&self, from: usize, to: usize) -> bool {
        self.src
            .get(from.min(to)..to)
            .is_none_or(|gap| gap.contains('\n'))
    }

    // ─────────────────────────── comments ────────────────────────────

    /// Indices of the unplaced comments starting in `from..to`.
    fn unused_in(&self, from: usize, to: usize) -> Vec<usize> {
        let first = self.comments.partition_point(|c| c.offset < from);
        (first..self.comments.len())
            .take_while(|&i| self.comments[i].offset < to)
            .filter(|&i| !self.used[i])
            .collect()
    }

    /// True when an unplaced comment starts in `from..to`.
    pub fn has_comments(&self, from: usize, to: usize) -> bool {
        !self.unused_in(from, to).is_empty()
    }

    /// Prints the unplaced comments starting in `from..to` on their own lines, before the
    /// line at index `at`.
    fn hoist(&mut self, from: usize, to: usize, at: usize, indent: usize) {
        let found = self.unused_in(from, to);
        if found.is_empty() {
            return;
        }
        let lines: Vec<String> = found
            .iter()
            .map(|&i| format!("{}{}", "  ".repeat(indent), self.comments[i].text))
            .collect();
        for i in found {
            self.used[i] = true;
        }
        let at = at.min(self.lines.len());
        self.lines.splice(at..at, lines);
    }

    /// The comment starting in `from..to` on the same line as `from`, if unplaced.
    fn same_line(&self, from: usize, to: usize) -> Option<usize> {
        self.unused_in(from, to)
            .into_iter()
            .next()
            .filter(|&i| !self.has_newline(from, self.comments[i].offset))
    }

    // ─────────────────────────── sequences ───────────────────────────

    /// Prints `items` (statements, entries, clauses or blocks) one after another with the
    /// comments of `region` around them, keeping (at most one) blank line where the source
    /// had one.
    pub fn sequence<T>(
        &mut self,
        region: Region,
        items: &[T],
        span_of: impl Fn(&T) -> Span,
        mut print: impl FnMut(&mut Self, &T, usize),
    ) {
        let indent = region.indent;
        let mut cursor = region.start;
        let mut first = true;
        if !region.top {
            let limit = items
                .first()
                .map_or(region.close, |item| span_of(item).start);
            if let Some(i) = self.same_line(region.start, limit) {
                self.used[i] = true;
                let text = format!("  {}", self.comments[i].text);
                self.append(&text);
                cursor = self.comments[i].end;
            }
        }
        for (n, item) in items.iter().enumerate() {
            let span = span_of(item);
            let end = self.code_end(span);
            // Own-line comments before the item.
            let mut separate = region.top && !first;
            for i in self.unused_in(cursor, span.start) {
                let offset = self.comments[i].offset;
                if separate || (!first && self.blank_between(cursor, offset)) {
                    self.blank();
                }
                separate = false;
                self.used[i] = true;
                let text = self.comments[i].text.clone();
                self.push(indent, text);
                cursor = self.comments[i].end;
                first = false;
            }
            if separate || (!first && self.blank_between(cursor, span.start)) {
                self.blank();
            }
            let mark = self.lines.len();
            print(self, item, indent);
            // Comments between the item's parts that nothing inside it placed.
            self.hoist(span.start, end, mark, indent);
            first = false;
            cursor = end;
            // A comment after the item on its last line.
            let limit = items
                .get(n + 1)
                .map_or(region.close, |next| span_of(next).start);
            if let Some(i) = self.same_line(end, limit) {
                self.used[i] = true;
                let text = format!("  {}", self.comments[i].text);
                self.append(&text);
                cursor = self.comments[i].end;
            }
        }
        // Comments before the closing `}` (or the end of the file).
        for i in self.unused_in(cursor, region.close) {
            let offset = self.comments[i].offset;
            if !first && self.blank_between(cursor, offset) {
                self.blank();
            }
            self.used[i] = true;
            let text = self.comments[i].text.clone();
            self.push(indent, text);
            cursor = self.comments[i].end;
            first = false;
        }
    }

    /// Prints `header {`, the items indented, `}`; or `header {}` when there is nothing
    /// inside, comments included. Returns the offset of the `}`.
    pub fn braced<T>(
        &mut self,
        head: Head<'_>,
        items: &[T],
        span_of: impl Fn(&T) -> Span,
        print: impl FnMut(&mut Self, &T, usize),
    ) -> usize {
        let Head {
            indent,
            join,
            text: header,
            open,
        } = head;
        let after_last = items
            .last()
            .map_or(open + 1, |item| self.code_end(span_of(item)));
        let close = self.find_code(after_last.max(open + 1), b'}');
        if items.is_empty() && !self.has_comments(open + 1, close) {
            self.start(indent, join, format!("{header} {{}}"));
        } else {
            self.start(indent, join, format!("{header} {{"));
            let region = Region {
                start: open + 1,
                close,
                indent: indent + 1,
                top: false,
            };
            self.sequence(region, items, span_of, print);
            self.push(indent, "}");
        }
        close
    }
}
