//! Rate limits (GCRA, from the `governor` crate): reads per client address, or per token
//! subject when a valid token is sent; writes per token subject, or per client address
//! when the token is missing or refused (so guessing tokens is limited too).
//!
//! The client address is the TCP peer, unless the peer is a configured reverse proxy:
//! then the right-most address of `X-Forwarded-For` that is not itself a proxy, since
//! everything to its left was written by the client and can be forged.

use std::hash::Hash;
use std::net::IpAddr;
use std::num::NonZeroU32;
use std::time::Duration;

use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};

use crate::settings::{AccessSettings, Networks};

/// Who a request is counted against.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Caller {
    /// An anonymous client (or one whose token was refused), by address.
    Address(IpAddr),
    /// The subject of a verified token (`iss` and `sub`).
    Subject {
        /// The token's issuer.
        issuer: String,
        /// The token's subject.
        subject: String,
    },
}

/// Which limit a request falls under.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Limit {
    /// GET and HEAD.
    Read,
    /// Every other method.
    Write,
}

impl Limit {
    /// The label used in logs and metrics.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Read => "read",
            Self::Write => "write",
        }
    }
}

/// A refused request: how long until the caller may ask again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Exceeded {
    /// The limit that was used up.
    pub limit: Limit,
    /// Requests a second the limit allows.
    pub per_second: u32,
    /// The wait before the next request would be allowed.
    pub wait: Duration,
}

impl Exceeded {
    /// The wait in whole seconds for `Retry-After` (at least 1: 0 would invite a retry loop).
    pub fn retry_after_seconds(&self) -> u64 {
        self.wait.as_secs_f64().ceil().max(1.0) as u64
    }
}

/// The limiters of one server (shared by its workers).
pub struct RateLimits {
    reads: Option<(DefaultKeyedRateLimiter<Caller>, u32)>,
    writes: Option<(DefaultKeyedRateLimiter<Caller>, u32)>,
    trusted_proxies: Networks,
}

impl RateLimits {
    /// Limiters for these settings (a rate of 0 means no limit).
    pub fn new(access: &AccessSettings) -> Self {
        let limiter = |rate: u32| {
            NonZeroU32::new(rate).map(|n| (RateLimiter::keyed(Quota::per_second(n)), rate))
        };
        Self {
            reads: limiter(access.read_rate),
            writes: limiter(access.write_rate),
            trusted_proxies: access.trusted_proxies.clone(),
        }
    }

    /// Whether any limit is on.
    pub fn is_on(&self) -> bool {
        self.reads.is_some() || self.writes.is_some()
    }

    /// Whether `limit` is on.
    pub fn limits(&self, limit: Limit) -> bool {
        match limit {
            Limit::Read => self.reads.is_some(),
            Limit::Write => self.writes.is_some(),
        }
    }

    /// Counts one request of `caller` under `limit`; `Err` when it must be refused.
    pub fn check(&self, limit: Limit, caller: &Caller) -> Result<(), Exceeded> {
        let chosen = match limit {
            Limit::Read => &self.reads,
            Limit::Write => &self.writes,
        };
        let Some((limiter, per_second)) = chosen else {
            return Ok(());
        };
        limiter.check_key(caller).map_err(|not_until| Exceeded {
            limit,
            per_second: *per_second,
            wait: not_until.wait_time_from(DefaultClock::default().now()),
        })
    }

    /// Forgets callers whose allowance is whole again, so that memory follows the number
    /// of recent callers, not of every address ever seen.
    pub fn forget_idle_callers(&self) {
        for (limiter, _) in [&self.reads, &self.writes].into_iter().flatten() {
            limiter.retain_recent();
            limiter.shrink_to_fit();
        }
    }

    /// The address a request is counted against (see the module documentation).
    pub fn client_address(&self, peer: IpAddr, forwarded_for: &[&str]) -> IpAddr {
        client_address(peer, forwarded_for, &self.trusted_proxies)
    }
}

/// The client's address: the peer, or behind trusted proxies the right-most forwarded
/// address that is not a proxy. A malformed entry stops the walk at the last proxy.
pub fn client_address(peer: IpAddr, forwarded_for: &[&str], trusted: &Networks) -> IpAddr {
    if !trusted.contains(&peer) {
        return peer;
    }
    let mut client = peer;
    let hops = forwarded_for
        .iter()
        .flat_map(|value| value.split(','))
        .map(str::trim)
        .collect::<Vec<_>>();
    for hop in hops.into_iter().rev() {
        match hop.parse::<IpAddr>() {
            Ok(address) => {
                client = address;
                if !trusted.contains(&address) {
                    break;
                }
            }
            Err(_) => break,
        }
    }
    client
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap()
    }

    fn access(read_rate: u32, write_rate: u32, proxies: &str) -> AccessSettings {
        AccessSettings {
            read_rate,
            write_rate,
            trusted_proxies: Networks::parse(proxies).unwrap(),
            ..AccessSettings::unlimited()
        }
    }

    #[test]
    fn forwarded_addresses_are_believed_only_from_trusted_proxies() {
        let proxies = Networks::parse("10.0.0.0/8, 192.0.2.1").unwrap();
        // A direct client cannot name another address.
        assert_eq!(
            client_address(ip("198.51.100.7"), &["203.0.113.9"], &proxies),
            ip("198.51.100.7")
        );
        // Behind one proxy: the address the proxy saw.
        assert_eq!(
            client_address(ip("10.1.2.3"), &["203.0.113.9"], &proxies),
            ip("203.0.113.9")
        );
        // A forged entry on the left is ignored; proxies on the right are skipped.
        assert_eq!(
            client_address(
                ip("10.1.2.3"),
                &["1.2.3.4, 203.0.113.9", "192.0.2.1"],
                &proxies
            ),
            ip("203.0.113.9")
        );
        // Nothing forwarded, or garbage: the proxy itself (never an invented address).
        assert_eq!(
            client_address(ip("10.1.2.3"), &[], &proxies),
            ip("10.1.2.3")
        );
        assert_eq!(
            client_address(ip("10.1.2.3"), &["not-an-address"], &proxies),
            ip("10.1.2.3")
        );
        // IPv6 clients too.
        assert_eq!(
            client_address(ip("10.0.0.1"), &["2001:db8::5"], &proxies),
            ip("2001:db8::5")
        );
    }

    #[test]
    fn each_caller_has_its_own_allowance_and_learns_how_long_to_wait() {
        let limits = RateLimits::new(&access(2, 1, ""));
        let alice = Caller::Address(ip("198.51.100.7"));
        let bob = Caller::Subject {
            issuer: "https://id.tj.example".into(),
            subject: "bob".into(),
        };
        assert_eq!(limits.check(Limit::Read, &alice), Ok(()));
        assert_eq!(limits.check(Limit::Read, &alice), Ok(()));
        let refused = limits.check(Limit::Read, &alice).unwrap_err();
        assert_eq!(refused.limit, Limit::Read);
        assert_eq!(refused.per_second, 2);
        assert!(refused.wait > Duration::ZERO && refused.wait <= Duration::from_millis(500));
        assert_eq!(refused.retry_after_seconds(), 1);
        // Another caller, and the other limit, are untouched.
        assert_eq!(limits.check(Limit::Read, &bob), Ok(()));
        assert_eq!(limits.check(Limit::Write, &alice), Ok(()));
        assert_eq!(
            limits.check(Limit::Write, &alice).unwrap_err().per_second,
            1
        );
        assert!(limits.is_on());
    }

    #[test]
    fn a_rate_of_zero_is_no_limit() {
        let limits = RateLimits::new(&access(0, 0, ""));
        let caller = Caller::Address(ip("198.51.100.7"));
        for _ in 0..1000 {
            assert_eq!(limits.check(Limit::Read, &caller), Ok(()));
            assert_eq!(limits.check(Limit::Write, &caller), Ok(()));
        }
        assert!(!limits.is_on());
    }

    #[test]
    fn the_wait_is_rounded_up_to_a_whole_second() {
        let exceeded = |millis| Exceeded {
            limit: Limit::Write,
            per_second: 1,
            wait: Duration::from_millis(millis),
        };
        assert_eq!(exceeded(0).retry_after_seconds(), 1);
        assert_eq!(exceeded(999).retry_after_seconds(), 1);
        assert_eq!(exceeded(1001).retry_after_seconds(), 2);
    }
}
