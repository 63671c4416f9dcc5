//! "Did you mean" suggestions for misspelt names.

/// The candidate closest to `name`, if it is close enough to be a likely typo:
/// a case-insensitive edit distance of at most a third of the name's length (at least 1),
/// or the same name in another case.
pub fn did_you_mean<'a>(
    name: &str,
    candidates: impl IntoIterator<Item = &'a str>,
) -> Option<&'a str> {
    let lower = name.to_lowercase();
    let limit = (name.chars().count() / 3).max(1);
    candidates
        .into_iter()
        .filter(|c| *c != name)
        .map(|c| (strsim::damerau_levenshtein(&lower, &c.to_lowercase()), c))
        .filter(|(distance, c)| {
            *distance <= limit || c.to_lowercase().contains(&lower) && lower.len() >= 4
        })
        .min_by(|a, b| a.0.cmp(&b.0).then_with(|| a.1.cmp(b.1)))
        .map(|(_, c)| c)
}

/// A help line: "did you mean `x`?" or a list of what is available.
pub fn help_for<'a>(
    name: &str,
    what: &str,
    candidates: impl IntoIterator<Item = &'a str>,
) -> String {
    let candidates: Vec<&str> = candidates.into_iter().collect();
    match did_you_mean(name, candidates.iter().copied()) {
        Some(best) => format!("did you mean `{best}`?"),
        None => {
            let mut all = candidates;
            all.sort_unstable();
            all.dedup();
            match all.len() {
                0 => format!("no {what} is defined here"),
                n if n <= 12 => format!(
                    "the {what}s here are: {}",
                    all.iter()
                        .map(|c| format!("`{c}`"))
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
                n => format!(
                    "there are {n} {what}s here, e.g. {}; see the connector profile for all",
                    all.iter()
                        .take(8)
                        .map(|c| format!("`{c}`"))
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suggests_close_names_only() {
        let names = ["OrganisationName", "OrganisationCity", "OrganisationType"];
        assert_eq!(
            did_you_mean("OrganisationNmae", names),
            Some("OrganisationName")
        );
        assert_eq!(
            did_you_mean("organisationcity", names),
            Some("OrganisationCity")
        );
        assert_eq!(did_you_mean("Banana", names), None);
    }
}
