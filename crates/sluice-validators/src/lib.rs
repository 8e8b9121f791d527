//! Checksum and format validators used by Sluice detectors.
//!
//! A detector's regex finds a candidate; a validator decides whether the candidate is a real
//! instance of the format (a card number whose Luhn digit is right, an IBAN whose mod-97 is 1).
//! Every validator is a pure `fn(&str) -> bool` that ignores the usual separators itself and
//! never panics, whatever the input.
//!
//! ```
//! let luhn = sluice_validators::lookup("luhn").expect("registered");
//! assert!(luhn("4111 1111 1111 1111"));
//! assert!(!luhn("4111 1111 1111 1112"));
//!
//! assert!(sluice_validators::lookup("iban").is_some_and(|f| f("GB82 WEST 1234 5698 7654 32")));
//! assert!(sluice_validators::lookup("no-such-validator").is_none());
//! assert!(sluice_validators::names().any(|n| n == "eth_address"));
//! assert!(sluice_validators::shannon_entropy("abcd") == 2.0);
//! ```

mod checksum;
pub mod crypto;
pub mod date;
pub mod financial;
pub mod heuristic;
pub mod national_id;
pub mod network;
pub mod token;
pub mod vehicle;

pub use heuristic::shannon_entropy;

/// A validator: `true` when the candidate text is a valid instance of the format.
pub type ValidatorFn = fn(&str) -> bool;

/// Looks up a validator by the name used in policy files.
pub fn lookup(name: &str) -> Option<ValidatorFn> {
    REGISTRY.iter().find(|(n, _)| *n == name).map(|(_, f)| *f)
}

/// The names accepted in a detector's `validators` list.
pub fn names() -> impl Iterator<Item = &'static str> {
    REGISTRY.iter().map(|(n, _)| *n)
}

const REGISTRY: &[(&str, ValidatorFn)] = &[
    ("luhn", financial::luhn),
    ("iban", financial::iban),
    ("aba_routing", financial::aba_routing),
    ("us_ssn", national_id::us_ssn),
    ("us_itin", national_id::us_itin),
    ("nanp_phone", network::nanp_phone),
    ("uk_nino", national_id::uk_nino),
    ("uk_nhs", national_id::uk_nhs),
    ("es_dni", national_id::es_dni),
    ("es_nie", national_id::es_nie),
    ("it_codice_fiscale", national_id::it_codice_fiscale),
    ("fr_nir", national_id::fr_nir),
    ("nl_bsn", national_id::nl_bsn),
    ("be_national_number", national_id::be_national_number),
    ("pl_pesel", national_id::pl_pesel),
    ("se_personnummer", national_id::se_personnummer),
    ("fi_hetu", national_id::fi_hetu),
    ("pt_nif", national_id::pt_nif),
    ("de_tax_id", national_id::de_tax_id),
    ("ie_ppsn", national_id::ie_ppsn),
    ("ca_sin", national_id::ca_sin),
    ("au_tfn", national_id::au_tfn),
    ("au_medicare", national_id::au_medicare),
    ("in_aadhaar", national_id::in_aadhaar),
    ("sg_nric", national_id::sg_nric),
    ("br_cpf", national_id::br_cpf),
    ("vin", vehicle::vin),
    ("us_npi", national_id::us_npi),
    ("date", date::date),
    ("ipv4", network::ipv4),
    ("ipv6", network::ipv6),
    ("mac", network::mac),
    ("btc_address", crypto::btc_address),
    ("eth_address", crypto::eth_address),
    ("jwt", token::jwt),
    ("not_trivial", heuristic::not_trivial),
    ("datetime", date::datetime),
    ("uk_vehicle_registration", vehicle::uk_vehicle_registration),
    ("uk_driving_licence", vehicle::uk_driving_licence),
    ("de_kvnr", national_id::de_kvnr),
    ("de_vat_id", national_id::de_vat_id),
    ("de_rvnr", national_id::de_rvnr),
    ("de_lanr", national_id::de_lanr),
    ("it_vat", national_id::it_vat),
    ("us_dea", national_id::us_dea),
    (
        "se_organisationsnummer",
        national_id::se_organisationsnummer,
    ),
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn registry_names_are_unique_and_resolve() {
        let all: Vec<&str> = names().collect();
        assert_eq!(all.len(), 46);
        for (i, n) in all.iter().enumerate() {
            assert!(!all[..i].contains(n), "duplicate {n}");
            assert!(lookup(n).is_some());
        }
        assert!(lookup("LUHN").is_none());
    }

    /// Hostile input must never panic and should not validate.
    #[test]
    fn no_panics_on_odd_input() {
        let huge_digits = "1".repeat(100_000);
        let huge_mixed = "1-2.3/ ".repeat(50_000);
        let inputs = [
            "",
            " ",
            "-",
            ".",
            "/",
            "+",
            "0",
            "00",
            "0x",
            "bc1",
            "1",
            "::",
            "%",
            "[]",
            "é",
            "日本語",
            "\u{0}",
            "١٢٣٤٥٦٧٨٩",
            "ａｂｃ",
            "4111 1111 1111 111１",
            "X1234567é",
            "1234567T\u{301}",
            "ÄÖ123456C",
            "131052-308Té",
            "é31052-308T",
            "12 März 1985",
            "March 12, 1985é",
            "0xé",
            "bc1é",
            "1é",
            "a.b.c",
            "é.é.é",
            "2A",
            "2A2B2A2B2A2B2A2",
            &huge_digits,
            &huge_mixed,
        ];
        for (name, f) in REGISTRY {
            for s in inputs {
                let ok = f(s);
                if *name != "not_trivial" {
                    assert!(!ok || s.len() < 100, "{name} accepted a huge input");
                }
            }
        }
    }
}
