//! The free-form fields of a profile. Each is trimmed, bounded, and free of control characters, so
//! whatever is stored can be shown anywhere without surprises.

const MAX_DISPLAY_NAME: usize = 50;
const MAX_ABOUT: usize = 800;
const MAX_WEBSITE_URL: usize = 2048;

/// Up to 50 characters; empty means "use the username".
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DisplayName(String);

impl DisplayName {
    pub fn parse(raw: &str) -> Result<Self, String> {
        let value = raw.trim();
        bounded("displayName", value, MAX_DISPLAY_NAME)?;
        if value.chars().any(char::is_control) {
            return Err("displayName must not contain control characters".to_owned());
        }
        Ok(Self(value.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Up to 800 characters of text; line breaks and tabs allowed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct About(String);

impl About {
    pub fn parse(raw: &str) -> Result<Self, String> {
        let value = raw.trim();
        bounded("about", value, MAX_ABOUT)?;
        if value
            .chars()
            .any(|c| c.is_control() && !matches!(c, '\n' | '\r' | '\t'))
        {
            return Err("about must not contain control characters".to_owned());
        }
        Ok(Self(value.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Empty, or an absolute `http://` or `https://` URL with a host, without spaces: never
/// `javascript:` or anything else a link could run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebsiteUrl(String);

impl WebsiteUrl {
    pub fn parse(raw: &str) -> Result<Self, String> {
        let value = raw.trim();
        bounded("websiteUrl", value, MAX_WEBSITE_URL)?;
        if value.is_empty() {
            return Ok(Self(String::new()));
        }
        let rest = value
            .strip_prefix("https://")
            .or_else(|| value.strip_prefix("http://"));
        let host = rest.map(|r| r.split(['/', '?', '#']).next().unwrap_or_default());
        let valid = host.is_some_and(|h| !h.is_empty() && !h.starts_with(':'))
            && !value
                .chars()
                .any(|c| c.is_whitespace() || c.is_control() || "<>\"'`".contains(c));
        if valid {
            Ok(Self(value.to_owned()))
        } else {
            Err(format!(
                "websiteUrl {value:?} must be an http:// or https:// address"
            ))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

fn bounded(field: &str, value: &str, max: usize) -> Result<(), String> {
    let length = value.chars().count();
    if length > max {
        Err(format!(
            "{field} must be at most {max} characters long, not {length}"
        ))
    } else {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_names_are_trimmed_bounded_and_printable() {
        assert_eq!(
            DisplayName::parse("  Night Owl 🦉 ").unwrap().as_str(),
            "Night Owl 🦉"
        );
        assert!(
            DisplayName::parse(&"é".repeat(51))
                .unwrap_err()
                .contains("not 51")
        );
        assert!(
            DisplayName::parse("a\u{0}b")
                .unwrap_err()
                .contains("control")
        );
    }

    #[test]
    fn about_keeps_line_breaks() {
        assert_eq!(
            About::parse("line 1\nline 2").unwrap().as_str(),
            "line 1\nline 2"
        );
        assert!(About::parse(&"x".repeat(801)).unwrap_err().contains("800"));
        assert!(About::parse("bell\u{7}").is_err());
    }

    #[test]
    fn website_urls_must_be_http_links() {
        for ok in ["", "https://example.com", "http://dj.example.org/sets?x=1"] {
            assert_eq!(WebsiteUrl::parse(ok).unwrap().as_str(), ok);
        }
        for bad in [
            "javascript:alert(1)",
            "example.com",
            "https://",
            "https://a b.com",
            "https://x.com/\"onmouseover=",
            "ftp://example.com",
        ] {
            assert!(
                WebsiteUrl::parse(bad).unwrap_err().contains("websiteUrl"),
                "{bad}"
            );
        }
    }
}
