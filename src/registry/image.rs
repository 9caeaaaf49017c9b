//! Image references: `host[:port]/repository[:tag][@digest]`, split where
//! `doctor` and the kubelet provider both need it.

/// A tag, or a digest (`sha256:…`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reference {
    Tag(String),
    Digest(String),
}

impl std::fmt::Display for Reference {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Reference::Tag(t) => write!(f, ":{t}"),
            Reference::Digest(d) => write!(f, "@{d}"),
        }
    }
}

/// An image reference split at its registry: `authority` is the part before
/// the first `/` (host and optional port, as written), `repository` the path
/// without its tag or digest; no tag means `latest`, as docker does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImageRef<'a> {
    pub authority: &'a str,
    pub repository: &'a str,
    pub reference: Reference,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ImageError {
    /// No `/`: `nginx`, `nginx:1.27` live on Docker Hub, no registry named.
    NoRegistry,
    Invalid(&'static str),
}

/// ECR's rule for repository names (docker's, less `__` and runs of `-`):
/// lower-case components of letters and digits joined by `.`, `_` or `-`,
/// separated by `/`; 2 to 256 characters.
pub fn is_repository_name(name: &str) -> bool {
    (2..=256).contains(&name.len())
        && name.split('/').all(|component| {
            !component.is_empty()
                && component.split(['.', '_', '-']).all(|w| {
                    !w.is_empty()
                        && w.bytes()
                            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
                })
        })
}

/// docker's path component: lower-case letters and digits, joined by `.`,
/// `_`, `__` or a run of `-`.
fn is_path_component(component: &str) -> bool {
    let alnum = |b: &u8| b.is_ascii_lowercase() || b.is_ascii_digit();
    let b = component.as_bytes();
    let mut i = 0;
    loop {
        let start = i;
        while i < b.len() && alnum(&b[i]) {
            i += 1;
        }
        if i == start {
            return false;
        }
        if i == b.len() {
            return true;
        }
        match b[i] {
            b'.' => i += 1,
            b'_' => i += if b.get(i + 1) == Some(&b'_') { 2 } else { 1 },
            b'-' => {
                while b.get(i) == Some(&b'-') {
                    i += 1;
                }
            }
            _ => return false,
        }
    }
}

/// docker's tag: a letter, digit or `_`, then up to 127 of those, `.` or `-`.
fn is_tag(tag: &str) -> bool {
    let word = |b: u8| b.is_ascii_alphanumeric() || b == b'_';
    tag.len() <= 128
        && tag.bytes().next().is_some_and(word)
        && tag.bytes().all(|b| word(b) || b == b'.' || b == b'-')
}

/// An OCI digest: `algorithm:encoded`, the algorithm's components of
/// lower-case letters and digits joined by `+ . _ -`, the encoding letters,
/// digits, `=`, `_` or `-`.
fn is_digest(digest: &str) -> bool {
    let Some((algorithm, encoded)) = digest.split_once(':') else {
        return false;
    };
    algorithm.split(['+', '.', '_', '-']).all(|c| {
        !c.is_empty()
            && c.bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
    }) && !encoded.is_empty()
        && encoded
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"=_-".contains(&b))
}

pub fn split(image: &str) -> Result<ImageRef<'_>, ImageError> {
    let (authority, path) = image.split_once('/').ok_or(ImageError::NoRegistry)?;
    // The digest first (`repo:tag@sha256:…`), then the tag: both only in the
    // path, so that the host's port stays.
    let (path, digest) = match path.split_once('@') {
        Some((p, d)) => (p, Some(d)),
        None => (path, None),
    };
    let (repository, tag) = match path.rsplit_once(':') {
        Some((repo, tag)) if !tag.contains('/') => (repo, Some(tag)),
        _ => (path, None),
    };
    let (host, port) = match authority.rsplit_once(':') {
        Some((h, p)) => (h, Some(p)),
        None => (authority, None),
    };
    if host.is_empty()
        || !host
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'-')
    {
        return Err(ImageError::Invalid("bad registry host"));
    }
    if port.is_some_and(|p| p.is_empty() || !p.bytes().all(|b| b.is_ascii_digit())) {
        return Err(ImageError::Invalid("bad registry port"));
    }
    if repository.is_empty() || repository.split('/').any(str::is_empty) {
        return Err(ImageError::Invalid("empty repository name"));
    }
    // Only a tag follows a colon: `a:b:c@sha256:…` names no repository.
    if repository.contains(':') {
        return Err(ImageError::Invalid("colon in the repository name"));
    }
    if !repository.split('/').all(is_path_component) {
        return Err(ImageError::Invalid(
            "bad repository name (lower-case letters and digits, joined by . _ - and /)",
        ));
    }
    let reference = match (digest, tag) {
        (Some(d), _) if is_digest(d) => Reference::Digest(d.to_owned()),
        (Some(_), _) => return Err(ImageError::Invalid("bad digest")),
        (None, Some("")) => return Err(ImageError::Invalid("empty tag")),
        (None, Some(t)) if is_tag(t) => Reference::Tag(t.to_owned()),
        (None, Some(_)) => {
            return Err(ImageError::Invalid(
                "bad tag (up to 128 letters, digits, _ . -, not starting with . or -)",
            ));
        }
        (None, None) => Reference::Tag("latest".to_owned()),
    };
    Ok(ImageRef {
        authority,
        repository,
        reference,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_host_repository_and_reference() {
        let tag = |t: &str| Reference::Tag(t.into());
        let digest = |d: &str| Reference::Digest(d.into());
        let table = [
            (
                "111111111111.dkr.ecr.ap-southeast-1.amazonaws.com/audit/sa/cicd-runner:latest",
                Ok((
                    "111111111111.dkr.ecr.ap-southeast-1.amazonaws.com",
                    "audit/sa/cicd-runner",
                    tag("latest"),
                )),
            ),
            ("h.example/app", Ok(("h.example", "app", tag("latest")))),
            (
                "h.example:5000/a/b:1.0",
                Ok(("h.example:5000", "a/b", tag("1.0"))),
            ),
            (
                "h.example/app@sha256:abc",
                Ok(("h.example", "app", digest("sha256:abc"))),
            ),
            (
                "h.example/app:1@sha256:abc",
                Ok(("h.example", "app", digest("sha256:abc"))),
            ),
            ("nginx", Err(ImageError::NoRegistry)),
            ("nginx:1.27", Err(ImageError::NoRegistry)),
            (
                "h.example/",
                Err(ImageError::Invalid("empty repository name")),
            ),
            (
                "h.example//app",
                Err(ImageError::Invalid("empty repository name")),
            ),
            ("h.example/app:", Err(ImageError::Invalid("empty tag"))),
            (
                "h.example/app@nodigest",
                Err(ImageError::Invalid("bad digest")),
            ),
            (
                "h/a:b:c@x:y",
                Err(ImageError::Invalid("colon in the repository name")),
            ),
            (
                "h.example:x/app",
                Err(ImageError::Invalid("bad registry port")),
            ),
            (
                "user@h.example/app",
                Err(ImageError::Invalid("bad registry host")),
            ),
            (
                "https://h.example/app",
                Err(ImageError::Invalid("bad registry port")),
            ),
            (
                "h.example/App:1",
                Err(ImageError::Invalid(
                    "bad repository name (lower-case letters and digits, joined by . _ - and /)",
                )),
            ),
            (
                "h.example/a--b__c",
                Ok(("h.example", "a--b__c", tag("latest"))),
            ),
            (
                "h.example/a___b",
                Err(ImageError::Invalid(
                    "bad repository name (lower-case letters and digits, joined by . _ - and /)",
                )),
            ),
            (
                "h.example/a.",
                Err(ImageError::Invalid(
                    "bad repository name (lower-case letters and digits, joined by . _ - and /)",
                )),
            ),
            (
                "h.example/app:.hidden",
                Err(ImageError::Invalid(
                    "bad tag (up to 128 letters, digits, _ . -, not starting with . or -)",
                )),
            ),
            (
                "h.example/app@sha256:ab/c",
                Err(ImageError::Invalid("bad digest")),
            ),
        ];
        for (input, want) in table {
            let got = split(input).map(|r| (r.authority, r.repository, r.reference));
            assert_eq!(got, want, "{input}");
        }
    }
}
