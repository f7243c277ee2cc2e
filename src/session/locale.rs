//! A UTF-8 locale for every session.
//!
//! Agents send and read UTF-8. A program started without a UTF-8 locale
//! (a server launched by a client with a bare environment, a container)
//! reads `é` as two characters and writes `\xc3\xa9` back as `Ã©`. So a
//! session gets `C.UTF-8` — which changes nothing but the character set —
//! unless its locale is already UTF-8 or its preset chose one on purpose.

/// The locale a session falls back to (built into glibc since 2.35, and
/// shipped by Debian and Ubuntu long before).
const FALLBACK: &str = "C.UTF-8";

/// What decides the character set, in the order the C library looks.
const VARIABLES: [&str; 3] = ["LC_ALL", "LC_CTYPE", "LANG"];

/// The variables to add to a session's environment, given the preset's own
/// `env` (which wins over the server's) and the server's environment.
pub fn utf8_fallback(
    preset_env: &[(String, String)],
    server_env: impl Fn(&str) -> Option<String>,
) -> Vec<(String, String)> {
    let preset = |key: &str| {
        preset_env
            .iter()
            .rev()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.clone())
    };
    let value = |key: &str| {
        preset(key)
            .or_else(|| server_env(key))
            .filter(|v| !v.is_empty())
    };
    let Some((deciding, current)) = VARIABLES
        .iter()
        .find_map(|key| value(key).map(|v| (*key, v)))
    else {
        // Nothing set: the C locale, ASCII.
        return vec![("LANG".into(), FALLBACK.into())];
    };
    if is_utf8(&current) || preset(deciding).is_some() {
        // Already UTF-8, or the preset asked for this locale.
        return Vec::new();
    }
    let key = match deciding {
        // LC_ALL overrides everything else: only it can fix the charset.
        "LC_ALL" => "LC_ALL",
        // Keep the language (messages, dates); change the character set.
        _ => "LC_CTYPE",
    };
    vec![(key.into(), FALLBACK.into())]
}

fn is_utf8(locale: &str) -> bool {
    let l = locale.to_ascii_lowercase();
    l.contains("utf-8") || l.contains("utf8")
}

#[cfg(test)]
mod tests {
    use super::utf8_fallback;

    fn env(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    fn fallback(preset: &[(&str, &str)], server: &[(&str, &str)]) -> Vec<(String, String)> {
        let server = env(server);
        utf8_fallback(&env(preset), |k| {
            server
                .iter()
                .find(|(key, _)| key == k)
                .map(|(_, v)| v.clone())
        })
    }

    #[test]
    fn a_bare_environment_gets_c_utf8() {
        assert_eq!(fallback(&[], &[]), env(&[("LANG", "C.UTF-8")]));
        assert_eq!(fallback(&[], &[("LANG", "")]), env(&[("LANG", "C.UTF-8")]));
    }

    #[test]
    fn a_utf8_locale_is_kept() {
        assert!(fallback(&[], &[("LANG", "en_US.UTF-8")]).is_empty());
        assert!(fallback(&[], &[("LC_CTYPE", "de_DE.utf8"), ("LANG", "C")]).is_empty());
        assert!(fallback(&[("LANG", "C.UTF-8")], &[]).is_empty());
        assert!(fallback(&[], &[("LC_ALL", "C.utf8"), ("LANG", "C")]).is_empty());
    }

    #[test]
    fn a_non_utf8_server_locale_gets_a_utf8_charset() {
        // The language stays; the character set changes.
        assert_eq!(
            fallback(&[], &[("LANG", "de_DE")]),
            env(&[("LC_CTYPE", "C.UTF-8")])
        );
        assert_eq!(
            fallback(&[], &[("LANG", "en_US.UTF-8"), ("LC_CTYPE", "POSIX")]),
            env(&[("LC_CTYPE", "C.UTF-8")])
        );
        // LC_ALL overrides LC_CTYPE, so it is the one to change.
        assert_eq!(
            fallback(&[], &[("LC_ALL", "C"), ("LANG", "en_US.UTF-8")]),
            env(&[("LC_ALL", "C.UTF-8")])
        );
    }

    #[test]
    fn a_preset_that_chose_a_locale_keeps_it() {
        assert!(fallback(&[("LC_ALL", "C")], &[("LANG", "en_US.UTF-8")]).is_empty());
        assert!(fallback(&[("LANG", "fr_FR.ISO-8859-1")], &[]).is_empty());
        // A preset setting only LANG does not hide a server's LC_ALL=C.
        assert_eq!(
            fallback(&[("LANG", "en_US.UTF-8")], &[("LC_ALL", "C")]),
            env(&[("LC_ALL", "C.UTF-8")])
        );
    }
}
