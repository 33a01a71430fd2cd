/// 3 to 16 characters of `[A-Za-z0-9._-]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Username(String);

impl Username {
    pub fn parse(raw: &str) -> Result<Self, String> {
        let length = raw.chars().count();
        if !(3..=16).contains(&length) {
            return Err(format!(
                "username must be 3 to 16 characters long, not {length}"
            ));
        }
        if let Some(bad) = raw
            .chars()
            .find(|c| !(c.is_ascii_alphanumeric() || "._-".contains(*c)))
        {
            return Err(format!(
                "username may contain only letters, digits, '.', '_' and '-', not {bad:?}"
            ));
        }
        Ok(Self(raw.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_the_allowed_alphabet_and_lengths() {
        for ok in ["abc", "dj.Night_Owl-16", "a1b"] {
            assert_eq!(Username::parse(ok).unwrap().as_str(), ok);
        }
    }

    #[test]
    fn names_what_is_wrong() {
        assert!(Username::parse("ab").unwrap_err().contains("3 to 16"));
        assert!(
            Username::parse("abcdefghijklmnopq")
                .unwrap_err()
                .contains("not 17")
        );
        assert!(Username::parse("dj night").unwrap_err().contains("' '"));
        assert!(Username::parse("<script>").unwrap_err().contains("'<'"));
        assert!(Username::parse("ümlaut").unwrap_err().contains("'ü'"));
    }
}
