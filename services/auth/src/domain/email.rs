/// An email address: at most 320 characters, one `@` between a non-empty local part and a domain with
/// a dot, no spaces or control characters. Kept as given; compared without case by the database.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Email(String);

impl Email {
    pub fn parse(raw: &str) -> Result<Self, String> {
        let raw = raw.trim();
        let invalid = || Err(format!("email {raw:?} is not a valid address"));
        if raw.chars().count() > 320 {
            return Err("email must be at most 320 characters long".to_owned());
        }
        let Some((local, domain)) = raw.rsplit_once('@') else {
            return invalid();
        };
        let well_formed = !local.is_empty()
            && local.len() <= 64
            && domain.contains('.')
            && !domain.starts_with('.')
            && !domain.ends_with('.')
            && !domain.contains("..")
            && domain
                .chars()
                .all(|c| c.is_alphanumeric() || c == '.' || c == '-')
            && !raw
                .chars()
                .any(|c| c.is_whitespace() || c.is_control() || c == '<' || c == '>');
        if well_formed {
            Ok(Self(raw.to_owned()))
        } else {
            invalid()
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_ordinary_addresses() {
        for ok in [
            "dj@example.com",
            "first.last+tag@mail.example.org",
            " padded@example.com ",
        ] {
            assert!(Email::parse(ok).is_ok(), "{ok}");
        }
    }

    #[test]
    fn refuses_malformed_addresses() {
        for bad in [
            "",
            "plain",
            "@example.com",
            "a@b",
            "a@.com",
            "a@b..com",
            "a b@c.com",
            "a@b.com>",
        ] {
            assert!(Email::parse(bad).is_err(), "{bad}");
        }
        let long = format!("{}@example.com", "a".repeat(320));
        assert!(Email::parse(&long).unwrap_err().contains("320"));
    }
}
