//! Finding the comments of a rule file: the AST has none, so the formatter re-inserts them
//! by position.

/// A `# …` comment.
#[derive(Debug, Clone)]
pub struct Comment {
    /// Byte offset of the `#`.
    pub offset: usize,
    /// The text from `#` to the end of the line, trailing spaces removed.
    pub text: String,
    /// Alone on its line (otherwise it trails code).
    pub own_line: bool,
}

/// Every comment in `text`, in order. `#` inside strings (and their `{…}` parts) is not one.
pub fn comments(text: &str) -> Vec<Comment> {
    let mut out = Vec::new();
    let bytes = text.as_bytes();
    let mut i = 0;
    // Depth of `{` inside an interpolation, per open string.
    let mut in_string = false;
    let mut interpolation = 0usize;
    while i < bytes.len() {
        let c = bytes[i];
        if in_string && interpolation == 0 {
            match c {
                b'\\' => i += 1,
                b'"' | b'\n' => in_string = false,
                b'{' => interpolation = 1,
                _ => {}
            }
        } else {
            match c {
                b'"' if interpolation == 0 => in_string = true,
                b'"' => {}
                b'{' if interpolation > 0 => interpolation += 1,
                b'}' if interpolation > 0 => {
                    interpolation -= 1;
                }
                b'#' => {
                    let end = text[i..].find('\n').map_or(text.len(), |n| i + n);
                    let line_start = text[..i].rfind('\n').map_or(0, |n| n + 1);
                    out.push(Comment {
                        offset: i,
                        text: text[i..end].trim_end().to_string(),
                        own_line: text[line_start..i].trim().is_empty(),
                    });
                    i = end;
                    continue;
                }
                _ => {}
            }
        }
        i += 1;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::comments;

    #[test]
    fn skips_hashes_in_strings() {
        let found = comments("# a\nx = \"#no {y} #no\" # b\n");
        let texts: Vec<_> = found
            .iter()
            .map(|c| (c.text.as_str(), c.own_line))
            .collect();
        assert_eq!(texts, vec![("# a", true), ("# b", false)]);
    }
}
