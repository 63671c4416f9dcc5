//! The country table behind `country_code` and `country_name`: ISO 3166-1 codes with the
//! English name and the names rule authors meet in Nordic and European data.
//!
//! It covers the Nordic countries (with the Faroe Islands, Greenland and Åland), the EU
//! member states, Liechtenstein, Switzerland, the United Kingdom and the United States.
//! Besides the English name each country lists its own name(s) and its name in Danish,
//! Norwegian, Swedish, Finnish and German, because CRM and ERP exports hold whatever the
//! person typing chose. Names are matched trimmed, case-insensitively and with runs of
//! whitespace collapsed; diacritics are *not* folded (`Osterreich` is unknown).

use std::{collections::HashMap, sync::OnceLock};

/// One country of the table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Country {
    /// ISO 3166-1 alpha-2 code, e.g. `DK`.
    pub code: &'static str,
    /// ISO 3166-1 alpha-3 code, e.g. `DNK`.
    pub alpha3: &'static str,
    /// The English short name, what `country_name` returns.
    pub name: &'static str,
    /// Other names: the local name(s) and the names in the Nordic languages and German.
    pub other_names: &'static [&'static str],
}

const fn country(
    code: &'static str,
    alpha3: &'static str,
    name: &'static str,
    other_names: &'static [&'static str],
) -> Country {
    Country {
        code,
        alpha3,
        name,
        other_names,
    }
}

/// Every country known to `country_code`, ordered by code.
pub static COUNTRIES: &[Country] = &[
    country(
        "AT",
        "AUT",
        "Austria",
        &["Österreich", "Østrig", "Østerrike", "Österrike", "Itävalta"],
    ),
    country(
        "AX",
        "ALA",
        "Åland Islands",
        &["Åland", "Ahvenanmaa", "Ålandsøerne"],
    ),
    country(
        "BE",
        "BEL",
        "Belgium",
        &["België", "Belgique", "Belgien", "Belgia"],
    ),
    country("BG", "BGR", "Bulgaria", &["България", "Bulgarien"]),
    country(
        "CH",
        "CHE",
        "Switzerland",
        &[
            "Schweiz", "Suisse", "Svizzera", "Svizra", "Sveits", "Sveitsi", "Helvetia",
        ],
    ),
    country(
        "CY",
        "CYP",
        "Cyprus",
        &["Κύπρος", "Kıbrıs", "Cypern", "Kypros", "Zypern"],
    ),
    country(
        "CZ",
        "CZE",
        "Czechia",
        &[
            "Czech Republic",
            "Česko",
            "Česká republika",
            "Tjekkiet",
            "Tsjekkia",
            "Tjeckien",
            "Tšekki",
            "Tschechien",
        ],
    ),
    country(
        "DE",
        "DEU",
        "Germany",
        &["Deutschland", "Tyskland", "Saksa"],
    ),
    country("DK", "DNK", "Denmark", &["Danmark", "Tanska", "Dänemark"]),
    country("EE", "EST", "Estonia", &["Eesti", "Estland", "Viro"]),
    country(
        "ES",
        "ESP",
        "Spain",
        &["España", "Spanien", "Spania", "Espanja"],
    ),
    country("FI", "FIN", "Finland", &["Suomi", "Finnland"]),
    country(
        "FO",
        "FRO",
        "Faroe Islands",
        &[
            "Føroyar",
            "Færøerne",
            "Færøyene",
            "Färöarna",
            "Färsaaret",
            "Färöer",
        ],
    ),
    country(
        "FR",
        "FRA",
        "France",
        &["Frankrig", "Frankrike", "Ranska", "Frankreich"],
    ),
    country(
        "GB",
        "GBR",
        "United Kingdom",
        &[
            "UK",
            "Great Britain",
            "Britain",
            "Storbritannien",
            "Storbritannia",
            "Iso-Britannia",
            "Vereinigtes Königreich",
            "Großbritannien",
        ],
    ),
    country(
        "GL",
        "GRL",
        "Greenland",
        &["Kalaallit Nunaat", "Grønland", "Grönland", "Grönlanti"],
    ),
    // `EL` is Greece's prefix in EU VAT numbers, so it turns up in accounting data.
    country(
        "GR",
        "GRC",
        "Greece",
        &[
            "EL",
            "Ελλάδα",
            "Ellada",
            "Hellas",
            "Grækenland",
            "Grekland",
            "Kreikka",
            "Griechenland",
        ],
    ),
    country("HR", "HRV", "Croatia", &["Hrvatska", "Kroatien", "Kroatia"]),
    country(
        "HU",
        "HUN",
        "Hungary",
        &["Magyarország", "Ungarn", "Ungern", "Unkari"],
    ),
    country("IE", "IRL", "Ireland", &["Éire", "Irland", "Irlanti"]),
    country("IS", "ISL", "Iceland", &["Ísland", "Island", "Islanti"]),
    country("IT", "ITA", "Italy", &["Italia", "Italien"]),
    country("LI", "LIE", "Liechtenstein", &[]),
    country("LT", "LTU", "Lithuania", &["Lietuva", "Litauen", "Liettua"]),
    country("LU", "LUX", "Luxembourg", &["Lëtzebuerg", "Luxemburg"]),
    country("LV", "LVA", "Latvia", &["Latvija", "Letland", "Lettland"]),
    country("MT", "MLT", "Malta", &[]),
    country(
        "NL",
        "NLD",
        "Netherlands",
        &[
            "The Netherlands",
            "Holland",
            "Nederland",
            "Nederländerna",
            "Alankomaat",
            "Niederlande",
        ],
    ),
    country(
        "NO",
        "NOR",
        "Norway",
        &["Norge", "Noreg", "Norja", "Norwegen"],
    ),
    country("PL", "POL", "Poland", &["Polska", "Polen", "Puola"]),
    country("PT", "PRT", "Portugal", &["Portugali"]),
    country("RO", "ROU", "Romania", &["România", "Rumænien", "Rumänien"]),
    country("SE", "SWE", "Sweden", &["Sverige", "Ruotsi", "Schweden"]),
    country(
        "SI",
        "SVN",
        "Slovenia",
        &["Slovenija", "Slovenien", "Slowenien"],
    ),
    country(
        "SK",
        "SVK",
        "Slovakia",
        &["Slovensko", "Slovakiet", "Slovakien", "Slowakei"],
    ),
    country(
        "US",
        "USA",
        "United States",
        &[
            "United States of America",
            "Amerikas Forenede Stater",
            "Yhdysvallat",
            "Vereinigte Staaten",
        ],
    ),
];

/// Trimmed, lower-cased, whitespace runs collapsed to one space: how names are compared.
pub fn normalise(text: &str) -> String {
    text.split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .to_lowercase()
}

fn index() -> &'static HashMap<String, &'static Country> {
    static INDEX: OnceLock<HashMap<String, &'static Country>> = OnceLock::new();
    INDEX.get_or_init(|| {
        let mut index = HashMap::new();
        for country in COUNTRIES {
            let names = [country.code, country.alpha3, country.name]
                .into_iter()
                .chain(country.other_names.iter().copied());
            for name in names {
                // The first country to claim a name keeps it; a unit test asserts there are no clashes.
                index.entry(normalise(name)).or_insert(country);
            }
        }
        index
    })
}

/// The country called or coded `name` (alpha-2, alpha-3, English or another listed name).
pub fn find(name: &str) -> Option<&'static Country> {
    index().get(&normalise(name)).copied()
}

/// The country with the alpha-2 or alpha-3 `code`, case-insensitively.
pub fn by_code(code: &str) -> Option<&'static Country> {
    let code = code.trim();
    COUNTRIES
        .iter()
        .find(|c| c.code.eq_ignore_ascii_case(code) || c.alpha3.eq_ignore_ascii_case(code))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_name_names_two_countries() {
        let mut seen: HashMap<String, &str> = HashMap::new();
        for country in COUNTRIES {
            let names = [country.code, country.alpha3, country.name]
                .into_iter()
                .chain(country.other_names.iter().copied());
            for name in names {
                if let Some(other) = seen.insert(normalise(name), country.code) {
                    assert_eq!(
                        other, country.code,
                        "`{name}` names both {other} and {}",
                        country.code
                    );
                }
            }
        }
    }

    #[test]
    fn table_is_sorted_and_codes_are_well_formed() {
        for pair in COUNTRIES.windows(2) {
            assert!(pair[0].code < pair[1].code);
        }
        for country in COUNTRIES {
            assert!(
                country.code.len() == 2 && country.code.chars().all(|c| c.is_ascii_uppercase())
            );
            assert!(
                country.alpha3.len() == 3 && country.alpha3.chars().all(|c| c.is_ascii_uppercase())
            );
        }
    }

    #[test]
    fn covers_the_nordics_and_the_eu() {
        let required = "DK NO SE FI IS AT BE BG HR CY CZ DE EE ES FR GR HU IE IT LT LU LV MT NL PL PT RO SI SK GB US CH";
        for code in required.split(' ') {
            assert!(by_code(code).is_some(), "{code} missing");
        }
    }

    #[test]
    fn finds_local_names_in_any_case() {
        assert_eq!(find("  danmark ").map(|c| c.code), Some("DK"));
        assert_eq!(find("ÍSLAND").map(|c| c.code), Some("IS"));
        assert_eq!(find("Suomi").map(|c| c.code), Some("FI"));
        assert_eq!(find("united   kingdom").map(|c| c.code), Some("GB"));
        assert_eq!(find("dnk").map(|c| c.code), Some("DK"));
        assert_eq!(find("Atlantis"), None);
    }
}
