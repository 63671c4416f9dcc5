//! Finds the `#` comments of a rule file and which bytes are trivia.
//!
//! The grammar drops comments, so `fmt` scans the text itself. A `#` starts a comment only
//! in code: not inside a double-quoted string (which honours `\"` escapes) and not inside a
//! `` `quoted name` ``, but again inside a string's `{…}` interpolation, which is code.

/// A `#` comment as written, up to (not including) the end of its line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Comment {
    /// Byte offset of the `#`.
    pub offset: usize,
    /// Byte offset one past the comment's last byte (the `\n` or the end of the file).
    pub end: usize,
    /// The text from `#` on, without trailing whitespace.
    pub text: String,
}

/// The comments of a text and, for every byte, whether it is whitespace or comment.
#[derive(Debug, Default)]
pub(crate) struct Scan {
    /// Comments in text order.
    pub comments: Vec<Comment>,
    /// `trivia[i]` is true when byte `i` is insignificant (whitespace outside strings,
    /// or part of a comment).
    pub trivia: Vec<bool>,
}

/// What the scanner is inside of.
enum Frame {
    /// Code, with the number of `{` opened in it (records inside lists).
    Code { depth: usize },
    /// A double-quoted string.
    Str,
}

const BOM: &str = "\u{FEFF}";

/// Every `#` comment of `text`, in order.
pub fn comments(text: &str) -> Vec<Comment> {
    scan(text).comments
}

/// Scans `text` for comments and trivia.
pub(crate) fn scan(text: &str) -> Scan {
    let bytes = text.as_bytes();
    let mut trivia = vec![false; bytes.len()];
    let mut comments = Vec::new();
    let mut stack = vec![Frame::Code { depth: 0 }];
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        let nested = stack.len() > 1;
        match stack.last_mut() {
            Some(Frame::Str) => match b {
                b'\\' => i += 2,
                b'"' => {
                    stack.pop();
                    i += 1;
                }
                b'{' => {
                    stack.push(Frame::Code { depth: 0 });
                    i += 1;
                }
                _ => i += 1,
            },
            Some(Frame::Code { depth }) => match b {
                b'#' => {
                    let end = text[i..].find('\n').map_or(bytes.len(), |n| i + n);
                    for t in &mut trivia[i..end] {
                        *t = true;
                    }
                    comments.push(Comment {
                        offset: i,
                        end,
                        text: text[i..end].trim_end().to_string(),
                    });
                    i = end;
                }
                b' ' | b'\t' | b'\r' | b'\n' => {
                    trivia[i] = true;
                    i += 1;
                }
                b'"' => {
                    stack.push(Frame::Str);
                    i += 1;
                }
                b'`' => {
                    // A quoted name runs to the next backtick on the same line.
                    let rest = &bytes[i + 1..];
                    match rest.iter().position(|&c| c == b'`' || c == b'\n') {
                        Some(n) if rest[n] == b'`' => i += n + 2,
                        _ => i += 1,
                    }
                }
                b'{' => {
                    *depth += 1;
                    i += 1;
                }
                b'}' => {
                    if *depth == 0 && nested {
                        stack.pop();
                    } else {
                        *depth = depth.saturating_sub(1);
                    }
                    i += 1;
                }
                _ if bytes[i..].starts_with(BOM.as_bytes()) => {
                    for t in &mut trivia[i..i + BOM.len()] {
                        *t = true;
                    }
                    i += BOM.len();
                }
                _ => i += 1,
            },
            None => break,
        }
    }
    Scan { comments, trivia }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn texts(text: &str) -> Vec<String> {
        comments(text).into_iter().map(|c| c.text).collect()
    }

    #[test]
    fn skips_hashes_in_strings_and_names() {
        let text =
            "a = \"x # no \\\" # still no\" # yes\n`F #1` = 2 #two \r\nb = \"{c # in code\n}\"";
        assert_eq!(texts(text), ["# yes", "#two", "# in code"]);
    }

    #[test]
    fn nested_strings_in_interpolations() {
        let text = "a = \"{f(\"}#\")} # no\" # yes";
        assert_eq!(texts(text), ["# yes"]);
    }

    #[test]
    fn trivia_marks_whitespace_and_comments_only() {
        let scan = scan("a \"b c\" # d\ne");
        let marks: String = scan
            .trivia
            .iter()
            .map(|&t| if t { 't' } else { '.' })
            .collect();
        assert_eq!(marks, ".t.....ttttt.");
    }
}
