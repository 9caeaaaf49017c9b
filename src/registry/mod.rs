//! Registry host parsing: a pure function from what docker sends on stdin to
//! the account, region and partition the token must come from.

pub mod image;
pub mod rules;

pub use rules::CredentialSource;

use std::fmt;

/// ECR Public's API lives in one region only.
pub const ECR_PUBLIC_API_REGION: &str = "us-east-1";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Partition {
    Aws,
    AwsCn,
    AwsUsGov,
    AwsIso,
    AwsIsoB,
    AwsIsoE,
    AwsIsoF,
    AwsEusc,
}

/// Every partition once: its ID, the prefix of its regions' names, and
/// the DNS suffixes of its registries (classic and dual-stack). Prefixes
/// are tried in order, so a longer one comes before its own prefix, and the
/// commercial partition, which takes every other region, comes last.
const PARTITIONS: [(Partition, &str, &str, &str, Option<&str>); 8] = [
    (
        Partition::AwsCn,
        "aws-cn",
        "cn-",
        "amazonaws.com.cn",
        Some("on.amazonwebservices.com.cn"),
    ),
    (
        Partition::AwsEusc,
        "aws-eusc",
        "eusc-",
        "amazonaws.eu",
        None,
    ),
    (
        Partition::AwsIsoB,
        "aws-iso-b",
        "us-isob-",
        "sc2s.sgov.gov",
        None,
    ),
    (
        Partition::AwsIsoF,
        "aws-iso-f",
        "us-isof-",
        "csp.hci.ic.gov",
        None,
    ),
    (Partition::AwsIso, "aws-iso", "us-iso-", "c2s.ic.gov", None),
    (
        Partition::AwsIsoE,
        "aws-iso-e",
        "eu-isoe-",
        "cloud.adc-e.uk",
        None,
    ),
    (
        Partition::AwsUsGov,
        "aws-us-gov",
        "us-gov-",
        "amazonaws.com",
        Some("on.aws"),
    ),
    (Partition::Aws, "aws", "", "amazonaws.com", Some("on.aws")),
];

impl Partition {
    fn row(
        self,
    ) -> &'static (
        Partition,
        &'static str,
        &'static str,
        &'static str,
        Option<&'static str>,
    ) {
        PARTITIONS
            .iter()
            .find(|row| row.0 == self)
            .expect("every partition has a row")
    }

    /// The partition's ID, as in ARNs (`aws`, `aws-cn`).
    pub fn id(self) -> &'static str {
        self.row().1
    }

    /// The partition whose ARNs carry this ID.
    pub fn from_id(id: &str) -> Option<Partition> {
        PARTITIONS.iter().find(|row| row.1 == id).map(|row| row.0)
    }

    /// The partition a region belongs to, by its name.
    pub fn of_region(region: &str) -> Partition {
        PARTITIONS
            .iter()
            .find(|row| region.starts_with(row.2))
            .map_or(Partition::Aws, |row| row.0)
    }

    /// The DNS suffix of its registries' classic hosts.
    pub fn dns_suffix(self) -> &'static str {
        self.row().3
    }

    /// The DNS suffix of its dual-stack registry hosts, where it has them.
    pub fn dual_stack_suffix(self) -> Option<&'static str> {
        self.row().4
    }
}

/// A 12-digit AWS account ID.
pub fn is_account_id(s: &str) -> bool {
    s.len() == 12 && s.bytes().all(|b| b.is_ascii_digit())
}

/// The partition of an IAM role ARN, `arn:<partition>:iam::<account>:role/<name>`;
/// `None` when it is not one.
pub fn role_arn_partition(arn: &str) -> Option<Partition> {
    match arn.splitn(6, ':').collect::<Vec<_>>().as_slice() {
        ["arn", partition, "iam", "", account, resource]
            if is_account_id(account)
                && resource
                    .strip_prefix("role/")
                    .is_some_and(|n| !n.is_empty()) =>
        {
            Partition::from_id(partition)
        }
        _ => None,
    }
}

/// A private ECR registry: `<account>.dkr.ecr.<region>.<domain>` and its
/// FIPS and dual-stack forms.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PrivateRegistry {
    pub account: String,
    pub region: String,
    pub partition: Partition,
    pub fips: bool,
    pub dual_stack: bool,
    /// The normalised host (lower case, no scheme, port or path).
    pub host: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Registry {
    Private(PrivateRegistry),
    /// ECR Public (`public.ecr.aws`, `ecr-public.aws.com`).
    Public {
        host: String,
    },
}

impl Registry {
    pub fn host(&self) -> &str {
        match self {
            Registry::Private(p) => &p.host,
            Registry::Public { host } => host,
        }
    }

    /// The region whose API issues the token.
    pub fn api_region(&self) -> &str {
        match self {
            Registry::Private(p) => &p.region,
            Registry::Public { .. } => ECR_PUBLIC_API_REGION,
        }
    }

    /// What makes two hosts share a token: the same account, region and
    /// endpoint flavour. Used in the cache key.
    pub fn scope(&self) -> String {
        match self {
            Registry::Private(p) => format!(
                "ecr:{}:{}:{}:fips={}",
                p.partition.id(),
                p.region,
                p.account,
                p.fips
            ),
            Registry::Public { .. } => format!("ecr-public:{ECR_PUBLIC_API_REGION}"),
        }
    }
}

impl fmt::Display for Registry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.host())
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ParseError {
    #[error("empty server URL")]
    Empty,
    #[error("{0:?} is not an Amazon ECR registry host")]
    NotEcr(String),
}

/// Reduces a server URL as docker sends it (`https://host:443/v2/`, with
/// surrounding whitespace or not) to its bare, lower-case host.
pub fn server_host(input: &str) -> Result<String, ParseError> {
    let s = input.trim();
    let lower = s.to_ascii_lowercase();
    let rest = lower
        .strip_prefix("https://")
        .or_else(|| lower.strip_prefix("http://"))
        .unwrap_or(&lower);
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    let host = match authority.rsplit_once(':') {
        Some((h, port)) if !port.is_empty() && port.bytes().all(|b| b.is_ascii_digit()) => h,
        _ => authority,
    };
    // Tolerate the fully qualified form with a trailing dot.
    let host = host.strip_suffix('.').unwrap_or(host);
    if host.is_empty() {
        return Err(ParseError::Empty);
    }
    Ok(host.to_owned())
}

/// Parses a server URL into a registry, rejecting anything that is not an
/// ECR host (look-alikes included): a non-ECR host must never reach AWS.
pub fn parse(input: &str) -> Result<Registry, ParseError> {
    let host = server_host(input)?;
    let not_ecr = || ParseError::NotEcr(host.clone());
    // What DNS cannot resolve is no host at all, whatever it looks like.
    if host.len() > 253
        || host
            .split('.')
            .any(|label| label.is_empty() || label.len() > 63)
    {
        return Err(not_ecr());
    }
    if !host
        .bytes()
        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'.' || b == b'-')
    {
        return Err(not_ecr());
    }
    if host == "public.ecr.aws" || host == "ecr-public.aws.com" {
        return Ok(Registry::Public { host });
    }

    let labels: Vec<&str> = host.split('.').collect();
    let account = labels[0];
    if !is_account_id(account) {
        return Err(not_ecr());
    }
    // The classic form keeps `dkr` and `ecr` as two labels; dual-stack joins them.
    let (service, dual_stack, rest) = match labels.get(1..) {
        Some(["dkr", service, rest @ ..]) => (*service, false, rest),
        Some([joined, rest @ ..]) if joined.starts_with("dkr-") => (&joined[4..], true, rest),
        _ => return Err(not_ecr()),
    };
    let Some((region, domain)) = rest.split_first() else {
        return Err(not_ecr());
    };
    let (region, domain) = (region.to_string(), domain.join("."));
    let fips = match service {
        "ecr" => false,
        "ecr-fips" => true,
        _ => return Err(not_ecr()),
    };
    if !is_region(&region) {
        return Err(not_ecr());
    }
    let partition = partition_of(&domain, &region, dual_stack).ok_or_else(not_ecr)?;
    Ok(Registry::Private(PrivateRegistry {
        account: account.to_owned(),
        region,
        partition,
        fips,
        dual_stack,
        host,
    }))
}

/// `us-east-1`, `us-gov-west-1`, `eusc-de-east-1`: letters, dashes, a number.
pub fn is_region(region: &str) -> bool {
    let parts: Vec<&str> = region.split('-').collect();
    let Some((number, words)) = parts.split_last() else {
        return false;
    };
    words.len() >= 2
        && words
            .iter()
            .all(|w| !w.is_empty() && w.bytes().all(|b| b.is_ascii_lowercase()))
        && !number.is_empty()
        && number.len() <= 2
        && number.bytes().all(|b| b.is_ascii_digit())
}

/// The partition a domain belongs to, provided the region is one of it: a
/// China region under `amazonaws.com` is no real host.
fn partition_of(domain: &str, region: &str, dual_stack: bool) -> Option<Partition> {
    let partition = Partition::of_region(region);
    let suffix = if dual_stack {
        partition.dual_stack_suffix()
    } else {
        Some(partition.dns_suffix())
    };
    (suffix == Some(domain)).then_some(partition)
}

/// The private registry host of an account in a region, in the region's
/// partition (classic form).
pub fn private_host(account: &str, region: &str) -> String {
    let suffix = Partition::of_region(region).dns_suffix();
    format!("{account}.dkr.ecr.{region}.{suffix}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn account_ids_and_role_arns() {
        for (s, ok) in [
            ("111111111111", true),
            ("11111111111", false),
            ("1111111111111", false),
            ("11111111111a", false),
            ("", false),
        ] {
            assert_eq!(is_account_id(s), ok, "{s:?}");
        }
        for (arn, want) in [
            ("arn:aws:iam::222222222222:role/r", Some(Partition::Aws)),
            (
                "arn:aws:iam::222222222222:role/path/to/r",
                Some(Partition::Aws),
            ),
            (
                "arn:aws-cn:iam::222222222222:role/r",
                Some(Partition::AwsCn),
            ),
            (
                "arn:aws-us-gov:iam::222222222222:role/r",
                Some(Partition::AwsUsGov),
            ),
            (
                "arn:aws-iso-b:iam::222222222222:role/r",
                Some(Partition::AwsIsoB),
            ),
            ("arn:aws:s3::222222222222:role/r", None),
            ("arn:aws:sts::222222222222:role/r", None),
            ("arn:aws:iam::x:role/r", None),
            ("arn:aws:iam::222222222222:role/", None),
            ("arn:aws:iam::222222222222:user/u", None),
            ("arn:aws-moon:iam::222222222222:role/r", None),
            ("arn:aws:iam:us-east-1:222222222222:role/r", None),
            ("arn:aws:iam::222222222222", None),
        ] {
            assert_eq!(role_arn_partition(arn), want, "{arn}");
        }
    }

    /// One table: every partition's ID, regions and suffixes agree with
    /// the host parser, both ways.
    #[test]
    fn the_partition_table_agrees_with_the_parser() {
        for (region, partition) in [
            ("us-east-1", Partition::Aws),
            ("mx-central-1", Partition::Aws),
            ("us-gov-west-1", Partition::AwsUsGov),
            ("cn-north-1", Partition::AwsCn),
            ("eusc-de-east-1", Partition::AwsEusc),
            ("us-iso-east-1", Partition::AwsIso),
            ("us-isob-east-1", Partition::AwsIsoB),
            ("eu-isoe-west-1", Partition::AwsIsoE),
            ("us-isof-south-1", Partition::AwsIsoF),
        ] {
            assert_eq!(Partition::of_region(region), partition, "{region}");
            assert_eq!(Partition::from_id(partition.id()), Some(partition));
            let host = private_host("111111111111", region);
            assert_eq!(private(&host).partition, partition, "{host}");
            if let Some(suffix) = partition.dual_stack_suffix() {
                let host = format!("111111111111.dkr-ecr.{region}.{suffix}");
                assert_eq!(private(&host).partition, partition, "{host}");
            }
        }
    }

    fn private(host: &str) -> PrivateRegistry {
        match parse(host) {
            Ok(Registry::Private(p)) => p,
            other => panic!("{host}: {other:?}"),
        }
    }

    #[test]
    fn accepts_every_host_form() {
        // (input, account, region, partition, fips, dual_stack)
        use Partition::*;
        let table: &[(&str, &str, &str, Partition, bool, bool)] = &[
            (
                "111111111111.dkr.ecr.us-east-1.amazonaws.com",
                "111111111111",
                "us-east-1",
                Aws,
                false,
                false,
            ),
            (
                "222222222222.dkr.ecr.ap-southeast-1.amazonaws.com",
                "222222222222",
                "ap-southeast-1",
                Aws,
                false,
                false,
            ),
            (
                "123456789012.dkr.ecr.mx-central-1.amazonaws.com",
                "123456789012",
                "mx-central-1",
                Aws,
                false,
                false,
            ),
            (
                "123456789012.dkr.ecr.cn-north-1.amazonaws.com.cn",
                "123456789012",
                "cn-north-1",
                AwsCn,
                false,
                false,
            ),
            (
                "123456789012.dkr.ecr.cn-northwest-1.amazonaws.com.cn",
                "123456789012",
                "cn-northwest-1",
                AwsCn,
                false,
                false,
            ),
            (
                "123456789012.dkr.ecr.us-gov-west-1.amazonaws.com",
                "123456789012",
                "us-gov-west-1",
                AwsUsGov,
                false,
                false,
            ),
            (
                "123456789012.dkr.ecr.eusc-de-east-1.amazonaws.eu",
                "123456789012",
                "eusc-de-east-1",
                AwsEusc,
                false,
                false,
            ),
            (
                "123456789012.dkr.ecr.us-iso-east-1.c2s.ic.gov",
                "123456789012",
                "us-iso-east-1",
                AwsIso,
                false,
                false,
            ),
            (
                "123456789012.dkr.ecr.us-isob-east-1.sc2s.sgov.gov",
                "123456789012",
                "us-isob-east-1",
                AwsIsoB,
                false,
                false,
            ),
            (
                "123456789012.dkr.ecr.eu-isoe-west-1.cloud.adc-e.uk",
                "123456789012",
                "eu-isoe-west-1",
                AwsIsoE,
                false,
                false,
            ),
            (
                "123456789012.dkr.ecr.us-isof-south-1.csp.hci.ic.gov",
                "123456789012",
                "us-isof-south-1",
                AwsIsoF,
                false,
                false,
            ),
            (
                "123456789012.dkr.ecr-fips.us-east-1.amazonaws.com",
                "123456789012",
                "us-east-1",
                Aws,
                true,
                false,
            ),
            (
                "123456789012.dkr.ecr-fips.us-gov-east-1.amazonaws.com",
                "123456789012",
                "us-gov-east-1",
                AwsUsGov,
                true,
                false,
            ),
            (
                "123456789012.dkr-ecr.us-west-2.on.aws",
                "123456789012",
                "us-west-2",
                Aws,
                false,
                true,
            ),
            (
                "123456789012.dkr-ecr-fips.us-east-2.on.aws",
                "123456789012",
                "us-east-2",
                Aws,
                true,
                true,
            ),
            (
                "123456789012.dkr-ecr.us-gov-west-1.on.aws",
                "123456789012",
                "us-gov-west-1",
                AwsUsGov,
                false,
                true,
            ),
            (
                "123456789012.dkr-ecr.cn-north-1.on.amazonwebservices.com.cn",
                "123456789012",
                "cn-north-1",
                AwsCn,
                false,
                true,
            ),
        ];
        for &(host, account, region, partition, fips, dual_stack) in table {
            let p = private(host);
            assert_eq!(
                (
                    p.account.as_str(),
                    p.region.as_str(),
                    p.partition,
                    p.fips,
                    p.dual_stack
                ),
                (account, region, partition, fips, dual_stack),
                "{host}"
            );
            assert_eq!(p.host, host);
        }
    }

    #[test]
    fn reduces_urls_to_the_host() {
        let host = "111111111111.dkr.ecr.us-east-1.amazonaws.com";
        for input in [
            host,
            "https://111111111111.dkr.ecr.us-east-1.amazonaws.com",
            "http://111111111111.dkr.ecr.us-east-1.amazonaws.com",
            "HTTPS://111111111111.DKR.ECR.US-EAST-1.AMAZONAWS.COM",
            "111111111111.dkr.ecr.us-east-1.amazonaws.com:443",
            "https://111111111111.dkr.ecr.us-east-1.amazonaws.com:443/v2/",
            "111111111111.dkr.ecr.us-east-1.amazonaws.com/team/app:1.0",
            "  111111111111.dkr.ecr.us-east-1.amazonaws.com\n",
            "\t https://111111111111.dkr.ecr.us-east-1.amazonaws.com/ \r\n",
            "111111111111.dkr.ecr.us-east-1.amazonaws.com.",
        ] {
            assert_eq!(private(input).host, host, "{input:?}");
        }
    }

    #[test]
    fn recognises_ecr_public() {
        for input in [
            "public.ecr.aws",
            "https://public.ecr.aws/v2/",
            "ecr-public.aws.com",
        ] {
            let r = parse(input).unwrap();
            assert!(matches!(r, Registry::Public { .. }), "{input}");
            assert_eq!(r.api_region(), "us-east-1");
        }
    }

    #[test]
    fn rejects_look_alikes_and_other_registries() {
        for input in [
            "",
            "   \n",
            "https://",
            "registry.example.com",
            "index.docker.io",
            "https://index.docker.io/v1/",
            "gcr.io",
            "localhost:5000",
            "111111111111.dkr.ecr.us-east-1.amazonaws.com.evil.example",
            "111111111111.dkr.ecr.us-east-1.amazonaws.com.cn.evil.example",
            "111111111111.evil.example",
            "111111111111evil.dkr.ecr.us-east-1.amazonaws.com",
            "111111111111-dkr.ecr.us-east-1.amazonaws.com",
            "evil.111111111111.dkr.ecr.us-east-1.amazonaws.com",
            "evil.example/111111111111.dkr.ecr.us-east-1.amazonaws.com",
            "https://evil.example/111111111111.dkr.ecr.us-east-1.amazonaws.com",
            "https://111111111111.dkr.ecr.us-east-1.amazonaws.com@evil.example",
            "11111111111.dkr.ecr.us-east-1.amazonaws.com",
            "1111111111111.dkr.ecr.us-east-1.amazonaws.com",
            "11111111111a.dkr.ecr.us-east-1.amazonaws.com",
            "111111111111.dkr.ecr.amazonaws.com",
            "111111111111.dkr.ecr.us-east.amazonaws.com",
            "111111111111.dkr.ecr.us-east-1x.amazonaws.com",
            "111111111111.dkr.ecr.us_east-1.amazonaws.com",
            "111111111111.dkr.ecs.us-east-1.amazonaws.com",
            "111111111111.dkr.ecr-fipsx.us-east-1.amazonaws.com",
            "111111111111.dkr.ecr.us-east-1.amazonaws.org",
            "111111111111.dkr.ecr.cn-north-1.amazonaws.com",
            "111111111111.dkr.ecr.us-east-1.amazonaws.com.cn",
            "111111111111.dkr.ecr.us-east-1.c2s.ic.gov",
            "111111111111.dkr-ecr.us-east-1.amazonaws.com",
            "111111111111.dkr.ecr.us-east-1.on.aws",
            "111111111111.dkr-ecr.us-east-1.on.aws.evil.example",
            "public.ecr.aws.evil.example",
            "evilpublic.ecr.aws",
            "111111111111.dkr.ecr.us-east-1.amazonaws.com\0",
            "111111111111.dkr.ecr.us-east-1.amazonaws.com%2f",
            "xn--111111111111.dkr.ecr.us-east-1.amazonaws.com",
            "111111111111..dkr.ecr.us-east-1.amazonaws.com",
            &format!("111111111111.dkr.ecr.us-{}-1.amazonaws.com", "e".repeat(70)),
            &format!(
                "111111111111.dkr.ecr.us-east-1.amazonaws.com{}",
                ".a".repeat(120)
            ),
        ] {
            assert!(
                matches!(parse(input), Err(ParseError::NotEcr(_) | ParseError::Empty)),
                "{input:?} must be rejected, got {:?}",
                parse(input)
            );
        }
    }

    #[test]
    fn scope_separates_what_needs_separate_tokens() {
        let a = parse("111111111111.dkr.ecr.us-east-1.amazonaws.com").unwrap();
        let same = parse("https://111111111111.dkr.ecr.us-east-1.amazonaws.com/v2/").unwrap();
        let dual = parse("111111111111.dkr-ecr.us-east-1.on.aws").unwrap();
        let other_region = parse("111111111111.dkr.ecr.us-west-2.amazonaws.com").unwrap();
        let other_account = parse("333333333333.dkr.ecr.us-east-1.amazonaws.com").unwrap();
        let fips = parse("111111111111.dkr.ecr-fips.us-east-1.amazonaws.com").unwrap();
        assert_eq!(a.scope(), same.scope());
        // A dual-stack host serves the same registry with the same token.
        assert_eq!(a.scope(), dual.scope());
        for other in [other_region, other_account, fips] {
            assert_ne!(a.scope(), other.scope(), "{other}");
        }
    }
}
