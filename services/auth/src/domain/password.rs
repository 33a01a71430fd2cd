use secrecy::{ExposeSecret, SecretString};

/// Passwords everyone tries first; refused whatever their length.
const COMMON: &[&str] = &[
    "password",
    "password1",
    "password123",
    "12345678",
    "123456789",
    "1234567890",
    "qwerty123",
    "qwertyuiop",
    "iloveyou",
    "11111111",
    "00000000",
    "abc12345",
    "sunshine",
    "princess",
    "football",
    "baseball",
    "welcome1",
    "passw0rd",
    "letmein1",
    "trustno1",
    "superman",
    "starwars",
    "dragon12",
    "monkey12",
    "1q2w3e4r",
    "zaq12wsx",
    "asdfghjk",
    "qwertyui",
    "aaaaaaaa",
    "livestreamer",
];

/// 8 to 128 characters of any script, not one of the most common passwords. Never logged.
#[derive(Debug)]
pub struct Password(SecretString);

impl Password {
    pub fn parse(raw: &str) -> Result<Self, String> {
        let length = raw.chars().count();
        if !(8..=128).contains(&length) {
            return Err(format!(
                "password must be 8 to 128 characters long, not {length}"
            ));
        }
        if COMMON.contains(&raw.to_lowercase().as_str()) {
            return Err("password is too common: choose another".to_owned());
        }
        Ok(Self(SecretString::from(raw.to_owned())))
    }

    pub fn expose(&self) -> &str {
        self.0.expose_secret()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_characters_not_bytes() {
        assert!(Password::parse("пароль12").is_ok());
        assert!(
            Password::parse("🎧🎧🎧🎧🎧🎧🎧")
                .unwrap_err()
                .contains("not 7")
        );
        assert!(
            Password::parse(&"x".repeat(129))
                .unwrap_err()
                .contains("not 129")
        );
    }

    #[test]
    fn refuses_common_passwords_in_any_case() {
        assert!(
            Password::parse("PassWord123")
                .unwrap_err()
                .contains("too common")
        );
    }

    #[test]
    fn debug_output_hides_the_secret() {
        let password = Password::parse("correct horse battery").unwrap();
        assert!(!format!("{password:?}").contains("horse"));
    }
}
