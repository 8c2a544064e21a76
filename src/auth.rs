//! Bearer-token authentication: which issuers are trusted, for which region, with which
//! keys; and the verification of a presented JWT into a [`Principal`].
//!
//! Every validation option of `jsonwebtoken` is set here explicitly (RFC 8725): its
//! defaults accept a token without `aud`, skip `nbf`, allow 60 s of leeway and never
//! look at `typ` or `crit`. The key is chosen by `kid` among the issuer's own keys, and
//! the algorithm comes from that configured key, never from the token.

use std::collections::HashMap;
use std::fmt;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::jwk::{AlgorithmParameters, EllipticCurve, Jwk, JwkSet};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::Deserialize;
use serde_json::{Map, Value};

use crate::domain::governance::{Principal, Role};
use crate::domain::region::RegionCode;

/// The audience tokens must name when no issuers file says otherwise.
pub const DEFAULT_AUDIENCE: &str = "jjj-registry";
/// The issuer of development tokens (`jjj-registry token`).
pub const DEV_ISSUER: &str = "urn:jjj-registry:dev";
/// Shortest development secret accepted (HS256 needs at least the hash's size).
pub const MIN_DEV_SECRET_BYTES: usize = 32;
/// Clock skew tolerated on `exp` and `nbf`.
pub const LEEWAY_SECONDS: u64 = 30;
/// Longest `Authorization` header accepted.
pub const MAX_AUTHORIZATION_BYTES: usize = 8 * 1024;
/// A `jwks_url` is fetched again on a token naming an unknown `kid` at most this often,
/// so that tokens with made-up key ids cannot make the registry hammer an issuer.
pub const JWKS_REFRESH_INTERVAL: Duration = Duration::from_secs(60);
/// How long a `jwks_url` fetch may take, and the largest key set read.
const JWKS_TIMEOUT: Duration = Duration::from_secs(5);
const MAX_JWKS_BYTES: u64 = 256 * 1024;

/// A secret that never appears in logs or `Debug` output.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// Wraps a secret, refusing one shorter than [`MIN_DEV_SECRET_BYTES`].
    pub fn new(value: String) -> Result<Self, String> {
        if value.len() < MIN_DEV_SECRET_BYTES {
            return Err(format!(
                "must be at least {MIN_DEV_SECRET_BYTES} bytes (got {}); generate one with `openssl rand -base64 48`",
                value.len()
            ));
        }
        Ok(Self(value))
    }

    fn bytes(&self) -> &[u8] {
        self.0.as_bytes()
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(redacted)")
    }
}

/// Why the authentication configuration cannot be used.
#[derive(Debug, thiserror::Error)]
#[error("issuers file {path}: {message}")]
pub struct AuthConfigError {
    path: String,
    message: String,
}

/// Why a request carries no acceptable token (HTTP 401).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct InvalidToken(pub String);

fn invalid(message: impl Into<String>) -> InvalidToken {
    InvalidToken(message.into())
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct IssuersFile {
    audience: String,
    issuers: Vec<IssuerConfig>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct IssuerConfig {
    iss: String,
    region: String,
    algorithms: Vec<String>,
    jwks_file: Option<PathBuf>,
    pem_file: Option<PathBuf>,
    jwks_url: Option<String>,
    /// The key id tokens name for a `pem_file` key (JWKS keys carry their own).
    kid: Option<String>,
}

struct IssuerKey {
    kid: Option<String>,
    algorithm: Algorithm,
    key: DecodingKey,
}

struct Issuer {
    /// `None` for the development issuer, which may speak for any one region per token.
    region: Option<RegionCode>,
    /// The keys; those of a `jwks_url` are replaced when it is fetched again.
    keys: RwLock<Arc<Vec<IssuerKey>>>,
    /// Where the keys come from when they are fetched.
    remote: Option<RemoteKeys>,
}

/// A `jwks_url` key source.
struct RemoteKeys {
    url: String,
    algorithms: Vec<Algorithm>,
    /// When an unknown `kid` last made the registry fetch the keys again.
    last_refresh: Mutex<Option<Instant>>,
}

impl Issuer {
    fn fixed(region: Option<RegionCode>, keys: Vec<IssuerKey>) -> Self {
        Self {
            region,
            keys: RwLock::new(Arc::new(keys)),
            remote: None,
        }
    }

    fn keys(&self) -> Arc<Vec<IssuerKey>> {
        self.keys
            .read()
            .map(|keys| Arc::clone(&keys))
            .unwrap_or_else(|poisoned| Arc::clone(&poisoned.into_inner()))
    }
}

/// The trusted issuers and the audience; verifies bearer tokens.
pub struct Authenticator {
    audience: String,
    issuers: HashMap<String, Issuer>,
}

impl fmt::Debug for Authenticator {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut names: Vec<&String> = self.issuers.keys().collect();
        names.sort();
        f.debug_struct("Authenticator")
            .field("audience", &self.audience)
            .field("issuers", &names)
            .finish()
    }
}

impl Authenticator {
    /// Reads the issuers file (if any) and adds the development issuer (if a secret is
    /// set). With neither, every write is refused with 401.
    pub fn load(
        issuers_file: Option<&Path>,
        dev_secret: Option<&Secret>,
    ) -> Result<Self, AuthConfigError> {
        let mut authenticator = match issuers_file {
            Some(path) => Self::from_file(path)?,
            None => Self {
                audience: DEFAULT_AUDIENCE.to_owned(),
                issuers: HashMap::new(),
            },
        };
        if let Some(secret) = dev_secret {
            authenticator.issuers.insert(
                DEV_ISSUER.to_owned(),
                Issuer::fixed(
                    None,
                    vec![IssuerKey {
                        kid: None,
                        algorithm: Algorithm::HS256,
                        key: DecodingKey::from_secret(secret.bytes()),
                    }],
                ),
            );
        }
        Ok(authenticator)
    }

    /// Whether any issuer is configured.
    pub fn has_issuers(&self) -> bool {
        !self.issuers.is_empty()
    }

    /// The audience tokens must name.
    pub fn audience(&self) -> &str {
        &self.audience
    }

    fn from_file(path: &Path) -> Result<Self, AuthConfigError> {
        let error = |message: String| AuthConfigError {
            path: path.display().to_string(),
            message,
        };
        let text = std::fs::read_to_string(path).map_err(|e| error(e.to_string()))?;
        let file: IssuersFile =
            serde_json::from_str(&text).map_err(|e| error(format!("invalid: {e}")))?;
        if file.audience.trim().is_empty() {
            return Err(error("`audience` must not be empty".into()));
        }
        let folder = path.parent().unwrap_or(Path::new("."));
        let mut issuers = HashMap::new();
        for config in file.issuers {
            let iss = config.iss.clone();
            let issuer =
                load_issuer(config, folder).map_err(|m| error(format!("issuer {iss}: {m}")))?;
            if iss == DEV_ISSUER || issuers.insert(iss.clone(), issuer).is_some() {
                return Err(error(format!("issuer {iss} is listed twice or reserved")));
            }
        }
        Ok(Self {
            audience: file.audience,
            issuers,
        })
    }

    /// Whether the token in `authorization` names a key its issuer does not have, from a
    /// `jwks_url` that may be fetched again now (at most once per
    /// [`JWKS_REFRESH_INTERVAL`]). Cheap: it reads the token without verifying it.
    pub fn wants_fresh_keys(&self, authorization: &[&[u8]]) -> bool {
        // Most deployments configure key files only: then there is nothing to read.
        if !self.issuers.values().any(|issuer| issuer.remote.is_some()) {
            return false;
        }
        self.remote_issuer_lacking_kid(authorization)
            .is_some_and(|(issuer, _)| {
                issuer.remote.as_ref().is_some_and(|remote| {
                    remote
                        .last_refresh
                        .lock()
                        .map(|last| last.is_none_or(|at| at.elapsed() >= JWKS_REFRESH_INTERVAL))
                        .unwrap_or(false)
                })
            })
    }

    /// Fetches the keys of the token's issuer again when [`Self::wants_fresh_keys`]
    /// says so. Blocking (network): call it off the async workers. A failed fetch keeps
    /// the keys the issuer had.
    pub fn refresh_keys(&self, authorization: &[&[u8]]) {
        let Some((issuer, iss)) = self.remote_issuer_lacking_kid(authorization) else {
            return;
        };
        let Some(remote) = &issuer.remote else {
            return;
        };
        {
            let Ok(mut last) = remote.last_refresh.lock() else {
                return;
            };
            if last.is_some_and(|at| at.elapsed() < JWKS_REFRESH_INTERVAL) {
                return;
            }
            *last = Some(Instant::now());
        }
        match fetch_jwks(&remote.url, &remote.algorithms) {
            Ok(keys) => {
                tracing::info!(issuer = %iss, keys = keys.len(), "fetched the issuer's keys again for an unknown kid");
                if let Ok(mut slot) = issuer.keys.write() {
                    *slot = Arc::new(keys);
                }
            }
            Err(error) => {
                tracing::warn!(issuer = %iss, error = %error, "could not fetch the issuer's keys; keeping those it had");
            }
        }
    }

    /// The issuer of the token in `authorization`, if it has a `jwks_url` and none of
    /// its keys has the token's `kid`.
    fn remote_issuer_lacking_kid(&self, authorization: &[&[u8]]) -> Option<(&Issuer, String)> {
        let (header, payload) = unverified_parts(bearer_token(authorization).ok()?).ok()?;
        let iss = payload.get("iss")?.as_str()?;
        let issuer = self.issuers.get(iss)?;
        issuer.remote.as_ref()?;
        let kid = header.get("kid").and_then(Value::as_str);
        let known = issuer
            .keys()
            .iter()
            .any(|k| kid.is_some() && k.kid.as_deref() == kid);
        (!known).then(|| (issuer, iss.to_owned()))
    }

    /// Verifies the `Authorization` header values of a request (all of them: more than
    /// one is refused) into the principal they authenticate.
    pub fn authenticate(&self, authorization: &[&[u8]]) -> Result<Principal, InvalidToken> {
        self.verify(bearer_token(authorization)?)
    }

    fn verify(&self, token: &str) -> Result<Principal, InvalidToken> {
        // The payload is read before the signature is checked only to pick the keys to
        // check it with; nothing else is trusted until the signature holds.
        let (header, unverified) = unverified_parts(token)?;
        if header.contains_key("crit") {
            return Err(invalid(
                "the token's header has a `crit` parameter; no extension is understood",
            ));
        }
        if let Some(typ) = header.get("typ") {
            let known = typ
                .as_str()
                .is_some_and(|t| t.eq_ignore_ascii_case("JWT") || t.eq_ignore_ascii_case("at+jwt"));
            if !known {
                return Err(invalid("the token's `typ` must be JWT or at+jwt"));
            }
        }
        let kid = match header.get("kid") {
            None => None,
            Some(Value::String(kid)) => Some(kid.as_str()),
            Some(_) => return Err(invalid("the token's `kid` must be a string")),
        };
        let iss = match unverified.get("iss") {
            Some(Value::String(iss)) => iss.as_str(),
            Some(_) => return Err(invalid("the token's `iss` must be a string")),
            None => return Err(invalid("the token names no issuer (`iss`)")),
        };
        let issuer = self
            .issuers
            .get(iss)
            .ok_or_else(|| invalid(format!("the issuer {iss} is not trusted here")))?;
        let keys = issuer.keys();
        let key = match kid {
            Some(kid) => keys.iter().find(|k| k.kid.as_deref() == Some(kid)),
            None if keys.len() == 1 => keys.first(),
            None => None,
        }
        .ok_or_else(|| invalid(format!("no key of issuer {iss} matches the token's `kid`")))?;

        let mut validation = Validation::new(key.algorithm);
        validation.algorithms = vec![key.algorithm];
        validation.leeway = LEEWAY_SECONDS;
        validation.reject_tokens_expiring_in_less_than = 0;
        validation.validate_exp = true;
        validation.validate_nbf = true;
        validation.validate_aud = true;
        validation.set_audience(&[self.audience.as_str()]);
        validation.set_issuer(&[iss]);
        validation.set_required_spec_claims(&["exp", "aud", "iss"]);
        let claims = jsonwebtoken::decode::<Map<String, Value>>(token, &key.key, &validation)
            .map_err(|e| invalid(format!("the token was refused: {}", describe_jwt_error(&e))))?
            .claims;
        // jsonwebtoken accepts an `aud` array that merely contains the audience; this
        // registry must be the token's only audience.
        let only_ours = match claims.get("aud") {
            Some(Value::String(aud)) => aud == &self.audience,
            Some(Value::Array(auds)) => auds.len() == 1 && auds[0] == self.audience.as_str(),
            _ => false,
        };
        if !only_ours {
            return Err(invalid(format!(
                "the token must name `{}` as its only audience (`aud`)",
                self.audience
            )));
        }

        let region = match claims.get("region") {
            Some(Value::String(region)) => region.as_str(),
            Some(_) => {
                return Err(invalid(
                    "the token's `region` must be one region code as a string",
                ));
            }
            None => return Err(invalid("the token names no `region`")),
        };
        let region = match &issuer.region {
            Some(own) if own.as_str() == region => own.clone(),
            Some(own) => {
                return Err(invalid(format!(
                    "issuer {iss} speaks for {own} only; the token claims region `{region}`"
                )));
            }
            None => match RegionCode::parse(region) {
                Ok(code) if code.as_str() == region => code,
                _ => {
                    return Err(invalid(format!(
                        "`{region}` is not a region code such as BJ, TJ or HE"
                    )));
                }
            },
        };
        let roles = match claims.get("roles") {
            Some(Value::Array(items)) => {
                let mut roles = Vec::new();
                for item in items {
                    let role = item.as_str().and_then(Role::parse).ok_or_else(|| {
                        invalid(format!(
                            "unknown role {item}; roles are {}",
                            Role::expected()
                        ))
                    })?;
                    if !roles.contains(&role) {
                        roles.push(role);
                    }
                }
                roles
            }
            Some(_) => {
                return Err(invalid(
                    "the token's `roles` must be an array of role names",
                ));
            }
            None => return Err(invalid("the token names no `roles`")),
        };
        let subject = match claims.get("sub") {
            None => String::new(),
            Some(Value::String(sub)) => sub.clone(),
            Some(_) => return Err(invalid("the token's `sub` must be a string")),
        };
        Ok(Principal {
            issuer: iss.to_owned(),
            subject,
            region,
            roles,
        })
    }
}

/// The token of the one `Authorization: Bearer` header a request may carry.
fn bearer_token<'a>(authorization: &[&'a [u8]]) -> Result<&'a str, InvalidToken> {
    let value = match authorization {
        [] => return Err(invalid("this request needs a bearer token")),
        [one] => *one,
        _ => return Err(invalid("send exactly one Authorization header")),
    };
    if value.len() > MAX_AUTHORIZATION_BYTES {
        return Err(invalid(format!(
            "the Authorization header is longer than {MAX_AUTHORIZATION_BYTES} bytes"
        )));
    }
    let value =
        std::str::from_utf8(value).map_err(|_| invalid("the Authorization header is not text"))?;
    match value.split_once(' ') {
        Some((scheme, token)) if scheme.eq_ignore_ascii_case("bearer") => Ok(token.trim()),
        _ => Err(invalid("the Authorization header must be `Bearer <token>`")),
    }
}

/// A JSON object, as a JWT's header and payload are.
type JsonObject = Map<String, Value>;

/// The header and payload of a signed JWT, not yet verified.
fn unverified_parts(token: &str) -> Result<(JsonObject, JsonObject), InvalidToken> {
    let mut parts = token.split('.');
    let (Some(header), Some(payload), Some(_), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(invalid(
            "the token is not a signed JWT (three dot-separated parts)",
        ));
    };
    Ok((
        decode_json_part(header, "header")?,
        decode_json_part(payload, "payload")?,
    ))
}

fn decode_json_part(part: &str, name: &str) -> Result<Map<String, Value>, InvalidToken> {
    let bytes = URL_SAFE_NO_PAD
        .decode(part)
        .map_err(|_| invalid(format!("the token's {name} is not base64url")))?;
    serde_json::from_slice(&bytes)
        .map_err(|_| invalid(format!("the token's {name} is not a JSON object")))
}

fn describe_jwt_error(error: &jsonwebtoken::errors::Error) -> String {
    use jsonwebtoken::errors::ErrorKind as K;
    match error.kind() {
        K::ExpiredSignature => "it has expired".into(),
        K::ImmatureSignature => "it is not valid yet (`nbf`)".into(),
        K::InvalidAudience => "it is not meant for this registry (`aud`)".into(),
        K::InvalidIssuer => "its issuer does not match".into(),
        K::InvalidSignature => "its signature does not verify".into(),
        K::InvalidAlgorithm => "its algorithm is not the issuer key's".into(),
        K::MissingRequiredClaim(claim) => format!("it lacks the `{claim}` claim"),
        other => format!("{other:?}"),
    }
}

fn load_issuer(config: IssuerConfig, folder: &Path) -> Result<Issuer, String> {
    let region = RegionCode::parse(&config.region)
        .ok()
        .filter(|code| code.as_str() == config.region)
        .ok_or_else(|| {
            format!(
                "`region` must be one upper-case region code, got `{}`",
                config.region
            )
        })?;
    let mut algorithms = Vec::new();
    for name in &config.algorithms {
        algorithms.push(match name.as_str() {
            "RS256" => Algorithm::RS256,
            "ES256" => Algorithm::ES256,
            "EdDSA" => Algorithm::EdDSA,
            other => {
                return Err(format!(
                    "algorithm {other} is not supported (RS256, ES256, EdDSA)"
                ));
            }
        });
    }
    if algorithms.is_empty() {
        return Err("`algorithms` must name at least one algorithm".into());
    }
    let keys = match (&config.jwks_file, &config.pem_file, &config.jwks_url) {
        (Some(file), None, None) => {
            let path = folder.join(file);
            let text =
                std::fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))?;
            let set: JwkSet =
                serde_json::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))?;
            set.keys
                .iter()
                .map(|jwk| jwk_key(jwk, &algorithms))
                .collect::<Result<Vec<_>, _>>()?
        }
        (None, Some(file), None) => {
            let [algorithm] = algorithms[..] else {
                return Err("a `pem_file` holds one key: name exactly one algorithm".into());
            };
            let path = folder.join(file);
            let pem = std::fs::read(&path).map_err(|e| format!("{}: {e}", path.display()))?;
            let key = match algorithm {
                Algorithm::RS256 => DecodingKey::from_rsa_pem(&pem),
                Algorithm::ES256 => DecodingKey::from_ec_pem(&pem),
                _ => DecodingKey::from_ed_pem(&pem),
            }
            .map_err(|e| format!("{}: not a {algorithm:?} public key: {e}", path.display()))?;
            vec![IssuerKey {
                kid: config.kid.clone(),
                algorithm,
                key,
            }]
        }
        (None, None, Some(url)) => {
            check_jwks_url(url)?;
            if config.kid.is_some() {
                return Err(
                    "`kid` names the key of a `pem_file`; JWKS keys carry their own".into(),
                );
            }
            // An issuer that cannot be reached at start-up does not stop the registry:
            // its tokens are refused until a fetch succeeds (an unknown `kid` triggers one).
            let keys = fetch_jwks(url, &algorithms).unwrap_or_else(|error| {
                tracing::warn!(issuer = %config.iss, error = %error, "could not fetch the issuer's keys at start-up; its tokens are refused until a later fetch succeeds");
                Vec::new()
            });
            return Ok(Issuer {
                region: Some(region),
                keys: RwLock::new(Arc::new(keys)),
                remote: Some(RemoteKeys {
                    url: url.clone(),
                    algorithms,
                    last_refresh: Mutex::new(None),
                }),
            });
        }
        _ => {
            return Err(
                "name exactly one key source: `jwks_file`, `pem_file` or `jwks_url`".into(),
            );
        }
    };
    if keys.is_empty() {
        return Err("the key source holds no key".into());
    }
    if config.kid.is_some() && config.pem_file.is_none() {
        return Err("`kid` names the key of a `pem_file`; JWKS keys carry their own".into());
    }
    let mut kids: Vec<&str> = keys.iter().filter_map(|k| k.kid.as_deref()).collect();
    kids.sort_unstable();
    if kids.windows(2).any(|pair| pair[0] == pair[1]) {
        return Err("two keys have the same `kid`".into());
    }
    Ok(Issuer::fixed(Some(region), keys))
}

/// A `jwks_url` must be https, or plain http to the loopback interface (a local proxy
/// or a test).
fn check_jwks_url(url: &str) -> Result<(), String> {
    let loopback = ["http://127.0.0.1", "http://localhost", "http://[::1]"]
        .iter()
        .any(|prefix| {
            url.strip_prefix(prefix)
                .is_some_and(|rest| rest.is_empty() || rest.starts_with([':', '/']))
        });
    if url.starts_with("https://") || loopback {
        Ok(())
    } else {
        Err(format!(
            "`jwks_url` must be https (plain http only to 127.0.0.1, localhost or [::1]), got `{url}`"
        ))
    }
}

/// Fetches a JWKS and keeps the keys the issuer's `algorithms` allow; a key of another
/// kind makes the whole set suspect and is refused, as in a `jwks_file`.
fn fetch_jwks(url: &str, algorithms: &[Algorithm]) -> Result<Vec<IssuerKey>, String> {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .timeout_global(Some(JWKS_TIMEOUT))
        .build()
        .into();
    let response = agent
        .get(url)
        .header("Accept", "application/json")
        .call()
        .map_err(|e| format!("{url}: {e}"))?;
    let mut text = String::new();
    response
        .into_body()
        .into_reader()
        .take(MAX_JWKS_BYTES)
        .read_to_string(&mut text)
        .map_err(|e| format!("{url}: {e}"))?;
    let set: JwkSet = serde_json::from_str(&text).map_err(|e| format!("{url}: not a JWKS: {e}"))?;
    let keys = set
        .keys
        .iter()
        .map(|jwk| jwk_key(jwk, algorithms))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| format!("{url}: {e}"))?;
    if keys.is_empty() {
        return Err(format!("{url}: the key set is empty"));
    }
    Ok(keys)
}

fn jwk_key(jwk: &Jwk, allowed: &[Algorithm]) -> Result<IssuerKey, String> {
    let algorithm = match &jwk.algorithm {
        AlgorithmParameters::RSA(_) => Algorithm::RS256,
        AlgorithmParameters::EllipticCurve(ec) if ec.curve == EllipticCurve::P256 => {
            Algorithm::ES256
        }
        AlgorithmParameters::OctetKeyPair(okp) if okp.curve == EllipticCurve::Ed25519 => {
            Algorithm::EdDSA
        }
        _ => return Err("a key is neither RSA, EC P-256 nor Ed25519".into()),
    };
    if let Some(declared) = &jwk.common.key_algorithm
        && format!("{declared:?}") != format!("{algorithm:?}")
    {
        return Err(format!(
            "a key declares `alg` {declared:?} but is a {algorithm:?} key"
        ));
    }
    if !allowed.contains(&algorithm) {
        return Err(format!(
            "a key is {algorithm:?}, which the issuer's `algorithms` do not list"
        ));
    }
    let key = DecodingKey::from_jwk(jwk).map_err(|e| format!("unusable key: {e}"))?;
    Ok(IssuerKey {
        kid: jwk.common.key_id.clone(),
        algorithm,
        key,
    })
}

/// Mints a development token (HS256, signed with the development secret).
pub fn mint_dev_token(
    secret: &Secret,
    audience: &str,
    region: &RegionCode,
    roles: &[Role],
    ttl: Duration,
    subject: &str,
) -> Result<String, String> {
    let now = chrono::Utc::now().timestamp();
    let claims = serde_json::json!({
        "iss": DEV_ISSUER,
        "aud": audience,
        "sub": subject,
        "region": region.as_str(),
        "roles": roles.iter().map(|r| r.as_str()).collect::<Vec<_>>(),
        "iat": now,
        "nbf": now,
        "exp": now + i64::try_from(ttl.as_secs()).map_err(|e| e.to_string())?,
    });
    let mut header = Header::new(Algorithm::HS256);
    header.typ = Some("JWT".into());
    jsonwebtoken::encode(&header, &claims, &EncodingKey::from_secret(secret.bytes()))
        .map_err(|e| e.to_string())
}

/// Parses a duration such as `15m`, `2h`, `900s` or `1d`.
pub fn parse_ttl(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    let split = text
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let number: u64 = number
        .parse()
        .map_err(|_| format!("`{text}` is not a duration such as 15m, 2h or 900s"))?;
    let seconds = match unit {
        "s" | "" => number,
        "m" => number * 60,
        "h" => number * 3600,
        "d" => number * 86_400,
        _ => {
            return Err(format!(
                "`{text}` is not a duration such as 15m, 2h or 900s"
            ));
        }
    };
    if seconds == 0 || seconds > 30 * 86_400 {
        return Err("a token lives between 1 second and 30 days".into());
    }
    Ok(Duration::from_secs(seconds))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixtures() -> PathBuf {
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/auth")
    }

    fn load_text(text: &str) -> Result<Authenticator, String> {
        let dir = tempfile::tempdir().expect("temp dir");
        for file in ["tj.jwks.json", "bj-rs256.pub.pem", "he.jwks.json"] {
            std::fs::copy(fixtures().join(file), dir.path().join(file)).expect("copy key");
        }
        let tj: serde_json::Value = serde_json::from_str(
            &std::fs::read_to_string(fixtures().join("tj.jwks.json")).unwrap(),
        )
        .unwrap();
        let twice = serde_json::json!({"keys": [tj["keys"][0], tj["keys"][0]]});
        std::fs::write(dir.path().join("twice.jwks.json"), twice.to_string()).expect("write");
        let path = dir.path().join("issuers.json");
        std::fs::write(&path, text).expect("write");
        Authenticator::load(Some(&path), None).map_err(|e| {
            e.to_string()
                .replace(&path.display().to_string(), "issuers.json")
        })
    }

    #[test]
    fn the_fixture_file_loads_three_issuers_of_three_regions() {
        let authenticator =
            Authenticator::load(Some(&fixtures().join("issuers.json")), None).expect("loads");
        assert_eq!(authenticator.audience(), "jjj-registry");
        assert_eq!(
            format!("{authenticator:?}"),
            "Authenticator { audience: \"jjj-registry\", issuers: [\"https://id.bj.example\", \"https://id.he.example\", \"https://id.tj.example\"] }"
        );
        let none = Authenticator::load(None, None).expect("loads");
        assert!(!none.has_issuers());
        assert_eq!(
            none.authenticate(&[b"Bearer e30.e30.x"]),
            Err(invalid("the token names no issuer (`iss`)"))
        );
    }

    #[test]
    fn a_bad_issuers_file_is_refused_at_start_with_the_reason() {
        let issuer = |extra: &str| {
            format!(
                r#"{{"audience": "jjj-registry", "issuers": [{{"iss": "https://id.tj.example", "region": "TJ", "algorithms": ["ES256"]{extra}}}]}}"#
            )
        };
        for (text, expected) in [
            (issuer(r#", "jwks_file": "tj.jwks.json""#), None),
            (
                issuer(r#", "jwks_file": "tj.jwks.json", "pem_file": "bj-rs256.pub.pem""#),
                Some("issuers.json: issuer https://id.tj.example: name exactly one key source: `jwks_file`, `pem_file` or `jwks_url`"),
            ),
            (
                issuer(""),
                Some("issuers.json: issuer https://id.tj.example: name exactly one key source: `jwks_file`, `pem_file` or `jwks_url`"),
            ),
            (
                issuer(r#", "jwks_url": "http://id.tj.example/jwks""#),
                Some("issuers.json: issuer https://id.tj.example: `jwks_url` must be https (plain http only to 127.0.0.1, localhost or [::1]), got `http://id.tj.example/jwks`"),
            ),
            (
                issuer(r#", "jwks_file": "he.jwks.json""#),
                Some("issuers.json: issuer https://id.tj.example: a key is EdDSA, which the issuer's `algorithms` do not list"),
            ),
            (
                r#"{"audience": "a", "issuers": [{"iss": "x", "region": "BJ", "algorithms": ["RS256"], "pem_file": "bj-rs256.pub.pem", "kid": "bj-1"}]}"#.to_owned(),
                None,
            ),
            (
                issuer(r#", "jwks_file": "tj.jwks.json", "kid": "tj-9""#),
                Some("issuers.json: issuer https://id.tj.example: `kid` names the key of a `pem_file`; JWKS keys carry their own"),
            ),
            (
                issuer(r#", "jwks_file": "twice.jwks.json""#),
                Some("issuers.json: issuer https://id.tj.example: two keys have the same `kid`"),
            ),
            (
                issuer(r#", "jwks_file": "tj.jwks.json", "secret": "x""#),
                Some("issuers.json: invalid: unknown field `secret`"),
            ),
            (
                r#"{"audience": "jjj-registry", "issuers": [{"iss": "x", "region": "tj", "algorithms": ["ES256"], "jwks_file": "tj.jwks.json"}]}"#.to_owned(),
                Some("issuers.json: issuer x: `region` must be one upper-case region code, got `tj`"),
            ),
            (
                r#"{"audience": "jjj-registry", "issuers": [{"iss": "x", "region": "TJ", "algorithms": ["HS256"], "jwks_file": "tj.jwks.json"}]}"#.to_owned(),
                Some("issuers.json: issuer x: algorithm HS256 is not supported (RS256, ES256, EdDSA)"),
            ),
            (
                r#"{"audience": "jjj-registry", "issuers": [{"iss": "x", "region": "BJ", "algorithms": ["RS256", "ES256"], "pem_file": "bj-rs256.pub.pem"}]}"#.to_owned(),
                Some("issuers.json: issuer x: a `pem_file` holds one key: name exactly one algorithm"),
            ),
            (
                r#"{"audience": " ", "issuers": []}"#.to_owned(),
                Some("issuers.json: `audience` must not be empty"),
            ),
            (
                format!(
                    r#"{{"audience": "a", "issuers": [{0}, {0}]}}"#,
                    r#"{"iss": "x", "region": "TJ", "algorithms": ["ES256"], "jwks_file": "tj.jwks.json"}"#
                ),
                Some("issuers.json: issuer x is listed twice or reserved"),
            ),
        ] {
            match (load_text(&text), expected) {
                (Ok(_), None) => {}
                (Err(message), Some(expected)) => {
                    let expected = format!("issuers file {expected}");
                    assert!(message.starts_with(&expected), "{message}\n  expected: {expected}")
                }
                (outcome, expected) => panic!("{text}: {:?}, expected {expected:?}", outcome.map(|_| ())),
            }
        }
    }

    #[test]
    fn development_secrets_and_token_lifetimes_are_checked() {
        assert_eq!(
            Secret::new("short".into()).unwrap_err(),
            "must be at least 32 bytes (got 5); generate one with `openssl rand -base64 48`"
        );
        let secret = Secret::new("x".repeat(32)).expect("32 bytes");
        assert_eq!(format!("{secret:?}"), "Secret(redacted)");
        assert_eq!(parse_ttl("15m"), Ok(Duration::from_secs(900)));
        assert_eq!(parse_ttl("2h"), Ok(Duration::from_secs(7200)));
        assert_eq!(parse_ttl("900"), Ok(Duration::from_secs(900)));
        assert_eq!(parse_ttl("1d"), Ok(Duration::from_secs(86_400)));
        assert!(parse_ttl("0s").is_err());
        assert!(parse_ttl("31d").is_err());
        assert!(parse_ttl("15 minutes").is_err());
        // A minted token verifies with the same secret, for the region and roles asked.
        let authenticator = Authenticator::load(None, Some(&secret)).expect("loads");
        let region = RegionCode::parse("HE").unwrap();
        let token = mint_dev_token(
            &secret,
            DEFAULT_AUDIENCE,
            &region,
            &[Role::Editor, Role::Approver],
            Duration::from_secs(60),
            "li.na",
        )
        .expect("mints");
        assert_eq!(
            authenticator.authenticate(&[format!("Bearer {token}").as_bytes()]),
            Ok(Principal {
                issuer: DEV_ISSUER.into(),
                subject: "li.na".into(),
                region,
                roles: vec![Role::Editor, Role::Approver],
            })
        );
    }
}
