//! Settings: command-line flags, each also settable by an environment variable
//! (`HOINGHI_*`) or in a TOML config file (`--config`), in that order of precedence.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};

use clap::{Args, Parser, Subcommand, ValueEnum};
use serde::Deserialize;

use crate::board::AlarmSettings;
use crate::schedule::{JoinWindow, DEFAULT_GRACE_MINUTES, DEFAULT_PRE_MINUTES, MAX_WINDOW_MINUTES};

/// Default HTTP(S) listen address.
pub const DEFAULT_LISTEN: SocketAddr = SocketAddr::new(IpAddr::V4(Ipv4Addr::UNSPECIFIED), 8443);
/// Default listen address of the Prometheus metrics: loopback only.
pub const DEFAULT_METRICS_LISTEN: SocketAddr =
    SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), 9464);
/// Default UDP media port.
pub const DEFAULT_MEDIA_PORT: u16 = 40000;
/// Default lifetime of a token made with `hoinghi token`.
pub const DEFAULT_TOKEN_TTL_SECS: u64 = 12 * 3600;

/// Video conferencing for a province's meeting rooms: signaling, web client and SFU in
/// one server.
#[derive(Debug, Parser)]
#[command(name = "hoinghi", version, about)]
pub struct Cli {
    #[command(flatten)]
    pub common: CommonArgs,
    #[command(flatten)]
    pub serve: ServeArgs,
    #[command(subcommand)]
    pub command: Option<Command>,
}

/// Flags shared by the server and its subcommands.
#[derive(Debug, Args)]
pub struct CommonArgs {
    /// TOML file with any of the settings below (keys as the long flags, with `_`).
    #[arg(long, global = true, env = "HOINGHI_CONFIG")]
    pub config: Option<PathBuf>,
    /// Directory for the server's state (keys, certificate); created if missing.
    #[arg(long, global = true, env = "HOINGHI_DATA_DIR")]
    pub data_dir: Option<PathBuf>,
    /// Key ring of the join tokens' HS256 keys, managed with `hoinghi keys` [default:
    /// DATA_DIR/jwt.key, created on first run; a one-key file of earlier versions is
    /// converted in place].
    #[arg(long, global = true, env = "HOINGHI_JWT_KEY_FILE")]
    pub jwt_key_file: Option<PathBuf>,
    /// Database: `postgres://user:password@host/db`, or `sqlite://FILE`; also read from
    /// `DATABASE_URL` [default: SQLite in DATA_DIR/hoinghi.db, created on first run].
    #[arg(
        long,
        global = true,
        env = "HOINGHI_DATABASE_URL",
        hide_env_values = true
    )]
    pub database_url: Option<String>,
}

/// Flags of the server.
#[derive(Debug, Args)]
pub struct ServeArgs {
    /// HTTP(S) listen address [default: 0.0.0.0:8443].
    #[arg(long, env = "HOINGHI_LISTEN")]
    pub listen: Option<SocketAddr>,
    /// The one UDP port all media uses (0 picks a free one) [default: 40000].
    #[arg(long, env = "HOINGHI_MEDIA_PORT")]
    pub media_port: Option<u16>,
    /// Address(es) advertised to room terminals as the media candidate, comma-separated
    /// [default: the listen address if it is specific, else this machine's first
    /// non-loopback IPv4 address].
    #[arg(long, env = "HOINGHI_PUBLIC_IP", value_delimiter = ',')]
    pub public_ip: Vec<IpAddr>,
    /// HTTPS: `auto` serves plain HTTP on loopback and HTTPS elsewhere.
    #[arg(long, env = "HOINGHI_TLS", value_enum)]
    pub tls: Option<TlsMode>,
    /// PEM certificate chain for HTTPS [default: a self-signed one in DATA_DIR].
    #[arg(long, env = "HOINGHI_TLS_CERT", requires = "tls_key")]
    pub tls_cert: Option<PathBuf>,
    /// PEM private key for HTTPS.
    #[arg(long, env = "HOINGHI_TLS_KEY", requires = "tls_cert")]
    pub tls_key: Option<PathBuf>,
    /// Plain-HTTP listen address of the Prometheus metrics (`GET /metrics`), or `off`
    /// [default: 127.0.0.1:9464].
    #[arg(long, env = "HOINGHI_METRICS_LISTEN")]
    pub metrics_listen: Option<MetricsListen>,
    /// Log format.
    #[arg(long, env = "HOINGHI_LOG_FORMAT", value_enum)]
    pub log_format: Option<LogFormat>,
    /// Password of the first administrator (`admin`), created on first run when there is
    /// no staff account [default: a random one, printed once].
    #[arg(long, env = "HOINGHI_ADMIN_PASSWORD", hide_env_values = true)]
    pub admin_password: Option<String>,
    /// Minutes before a meeting's start from which its rooms may join (the technician's
    /// test), 0–1440 [default: 60].
    #[arg(long, env = "HOINGHI_JOIN_WINDOW_BEFORE_MIN",
        value_parser = clap::value_parser!(u32).range(0..=i64::from(MAX_WINDOW_MINUTES)))]
    pub join_window_before_min: Option<u32>,
    /// Minutes after a meeting's end until which its rooms may still join, 0–1440
    /// [default: 15].
    #[arg(long, env = "HOINGHI_JOIN_GRACE_MIN",
        value_parser = clap::value_parser!(u32).range(0..=i64::from(MAX_WINDOW_MINUTES)))]
    pub join_grace_min: Option<u32>,
    /// Seconds a terminal's quality stays warning or bad before the board raises a
    /// `degraded` alarm, 1–3600 [default: 30].
    #[arg(long, env = "HOINGHI_ALARM_DEGRADED_SECS",
        value_parser = clap::value_parser!(u64).range(1..=MAX_ALARM_SECS))]
    pub alarm_degraded_secs: Option<u64>,
    /// Seconds a terminal holding the floor may stay silent before a `silent_floor`
    /// alarm, 1–3600 [default: 20].
    #[arg(long, env = "HOINGHI_ALARM_SILENT_SECS",
        value_parser = clap::value_parser!(u64).range(1..=MAX_ALARM_SECS))]
    pub alarm_silent_secs: Option<u64>,
    /// Seconds after a meeting's start before a rostered terminal that has not joined
    /// raises `not_full`, 0–3600 [default: 60].
    #[arg(long, env = "HOINGHI_ALARM_NOT_FULL_GRACE_SECS",
        value_parser = clap::value_parser!(u64).range(0..=MAX_ALARM_SECS))]
    pub alarm_not_full_grace_secs: Option<u64>,
}

/// Longest alarm delay accepted, seconds.
pub const MAX_ALARM_SECS: u64 = 3600;

/// Subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Print a join token signed with the server's key.
    Token {
        /// The room.
        #[arg(long)]
        room: String,
        /// The participant's identity (a room terminal's id).
        #[arg(long)]
        identity: String,
        /// The display name shown on tiles.
        #[arg(long)]
        name: String,
        /// Refuse publishing (receive only).
        #[arg(long)]
        no_publish: bool,
        /// Refuse receiving (send only).
        #[arg(long)]
        no_subscribe: bool,
        /// Lifetime in seconds.
        #[arg(long, default_value_t = DEFAULT_TOKEN_TTL_SECS, value_parser = clap::value_parser!(u64).range(1..=31_536_000))]
        ttl: u64,
        /// The participant's role.
        #[arg(long, value_enum, default_value_t = RoleArg::Participant)]
        role: RoleArg,
    },
    /// Manage the join-token signing keys; a running server notices changes within a
    /// second.
    Keys {
        #[command(subcommand)]
        action: KeysCommand,
    },
    /// Seed an empty registry with a demonstration province: organisation units on
    /// several levels and 78 room terminals, whose credentials are printed once.
    DemoData {
        /// Write the terminals' credentials to this new file (mode 0600) instead of
        /// standard output.
        #[arg(long)]
        credentials_file: Option<PathBuf>,
    },
}

/// `hoinghi keys` subcommands.
#[derive(Debug, Subcommand)]
pub enum KeysCommand {
    /// List the keys: id, status, creation time (never the secrets).
    List,
    /// Make a new key that signs from now on; the older ones still verify until retired.
    Rotate,
    /// Refuse the tokens signed with this key from now on (not the signing key).
    Retire {
        /// The key id, as `hoinghi keys list` shows it.
        kid: String,
    },
}

/// `--role` of `hoinghi token`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum RoleArg {
    /// Chairs the meeting.
    Host,
    /// Everyone else.
    Participant,
}

impl From<RoleArg> for crate::protocol::Role {
    fn from(r: RoleArg) -> Self {
        match r {
            RoleArg::Host => crate::protocol::Role::Host,
            RoleArg::Participant => crate::protocol::Role::Participant,
        }
    }
}

/// A setting that must not appear in logs or debug output.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(pub String);

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(…)")
    }
}

/// When to serve HTTPS.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TlsMode {
    /// HTTPS unless the listen address is loopback.
    Auto,
    /// Always HTTPS.
    On,
    /// Never HTTPS (only sensible behind a TLS-terminating proxy or on loopback).
    Off,
}

/// Where the metrics listener listens: an address, or `off` (or empty) for none.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(try_from = "String")]
pub struct MetricsListen(pub Option<SocketAddr>);

impl std::str::FromStr for MetricsListen {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let s = s.trim();
        if s.is_empty() || s.eq_ignore_ascii_case("off") {
            return Ok(MetricsListen(None));
        }
        s.parse()
            .map(|a| MetricsListen(Some(a)))
            .map_err(|e| format!("{e}: expected ADDRESS:PORT or off"))
    }
}

impl TryFrom<String> for MetricsListen {
    type Error = String;

    fn try_from(s: String) -> Result<Self, Self::Error> {
        s.parse()
    }
}

/// Log format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// Human-readable lines.
    Text,
    /// One JSON object per line.
    Json,
}

/// The config file: the same settings as the flags.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileConfig {
    pub listen: Option<SocketAddr>,
    pub metrics_listen: Option<MetricsListen>,
    pub media_port: Option<u16>,
    #[serde(default)]
    pub public_ip: Vec<IpAddr>,
    pub data_dir: Option<PathBuf>,
    pub jwt_key_file: Option<PathBuf>,
    pub tls: Option<TlsMode>,
    pub tls_cert: Option<PathBuf>,
    pub tls_key: Option<PathBuf>,
    pub log_format: Option<LogFormat>,
    pub database_url: Option<String>,
    pub admin_password: Option<String>,
    pub join_window_before_min: Option<u32>,
    pub join_grace_min: Option<u32>,
    pub alarm_degraded_secs: Option<u64>,
    pub alarm_silent_secs: Option<u64>,
    pub alarm_not_full_grace_secs: Option<u64>,
}

/// Errors reading the settings.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The config file could not be read.
    #[error("config file {path}: {source}")]
    Read {
        /// The file.
        path: String,
        /// What failed.
        source: std::io::Error,
    },
    /// The config file is not valid.
    #[error("config file {path}: {message}")]
    Parse {
        /// The file.
        path: String,
        /// What is wrong, with the line.
        message: String,
    },
    /// A certificate without its key or the reverse.
    #[error("tls_cert and tls_key must be given together")]
    HalfTls,
    /// A number outside its range.
    #[error("{key} must be between {min} and {max}, not {value}")]
    OutOfRange {
        /// The setting, as the config file names it.
        key: &'static str,
        /// The value given.
        value: u64,
        /// Smallest accepted.
        min: u64,
        /// Largest accepted.
        max: u64,
    },
}

/// The settings in force, after merging flags, environment, file and defaults.
#[derive(Debug, Clone)]
pub struct Settings {
    pub listen: SocketAddr,
    /// Where the Prometheus metrics are served; None: not at all.
    pub metrics_listen: Option<SocketAddr>,
    pub media_port: u16,
    /// Empty: detect.
    pub public_ips: Vec<IpAddr>,
    pub data_dir: PathBuf,
    pub jwt_key_file: PathBuf,
    pub tls: TlsMode,
    pub tls_files: Option<(PathBuf, PathBuf)>,
    pub log_format: LogFormat,
    /// None: SQLite in the data directory.
    pub database_url: Option<Secret>,
    /// The first administrator's password; None: a random one.
    pub admin_password: Option<Secret>,
    /// When rooms may join a meeting's occurrence.
    pub join_window: JoinWindow,
    /// The operator board's alarm delays.
    pub alarms: AlarmSettings,
}

impl Settings {
    /// Merge flags (which clap already merged with the environment) over the config
    /// file over the defaults.
    pub fn resolve(common: &CommonArgs, serve: &ServeArgs) -> Result<Settings, ConfigError> {
        let file = match &common.config {
            Some(path) => read_file(path)?,
            None => FileConfig::default(),
        };
        let data_dir = common
            .data_dir
            .clone()
            .or(file.data_dir)
            .unwrap_or_else(|| PathBuf::from("hoinghi-data"));
        let jwt_key_file = common
            .jwt_key_file
            .clone()
            .or(file.jwt_key_file)
            .unwrap_or_else(|| data_dir.join("jwt.key"));
        let tls_files = match (
            serve.tls_cert.clone().or(file.tls_cert),
            serve.tls_key.clone().or(file.tls_key),
        ) {
            (Some(c), Some(k)) => Some((c, k)),
            (None, None) => None,
            _ => return Err(ConfigError::HalfTls),
        };
        let minutes = |key, value: Option<u32>, default| match value {
            Some(v) if v > MAX_WINDOW_MINUTES => Err(ConfigError::OutOfRange {
                key,
                value: u64::from(v),
                min: 0,
                max: u64::from(MAX_WINDOW_MINUTES),
            }),
            v => Ok(v.unwrap_or(default)),
        };
        let join_window = JoinWindow {
            before_minutes: minutes(
                "join_window_before_min",
                serve.join_window_before_min.or(file.join_window_before_min),
                DEFAULT_PRE_MINUTES,
            )?,
            grace_minutes: minutes(
                "join_grace_min",
                serve.join_grace_min.or(file.join_grace_min),
                DEFAULT_GRACE_MINUTES,
            )?,
        };
        let defaults = AlarmSettings::default();
        let alarm_secs = |key, value: Option<u64>, min: u64, default| match value {
            Some(v) if v < min || v > MAX_ALARM_SECS => Err(ConfigError::OutOfRange {
                key,
                value: v,
                min,
                max: MAX_ALARM_SECS,
            }),
            v => Ok(v.unwrap_or(default)),
        };
        let alarms = AlarmSettings {
            degraded_secs: alarm_secs(
                "alarm_degraded_secs",
                serve.alarm_degraded_secs.or(file.alarm_degraded_secs),
                1,
                defaults.degraded_secs,
            )?,
            silent_secs: alarm_secs(
                "alarm_silent_secs",
                serve.alarm_silent_secs.or(file.alarm_silent_secs),
                1,
                defaults.silent_secs,
            )?,
            not_full_grace_secs: alarm_secs(
                "alarm_not_full_grace_secs",
                serve
                    .alarm_not_full_grace_secs
                    .or(file.alarm_not_full_grace_secs),
                0,
                defaults.not_full_grace_secs,
            )?,
        };
        Ok(Settings {
            listen: serve.listen.or(file.listen).unwrap_or(DEFAULT_LISTEN),
            metrics_listen: serve
                .metrics_listen
                .or(file.metrics_listen)
                .map_or(Some(DEFAULT_METRICS_LISTEN), |m| m.0),
            media_port: serve
                .media_port
                .or(file.media_port)
                .unwrap_or(DEFAULT_MEDIA_PORT),
            public_ips: if serve.public_ip.is_empty() {
                file.public_ip
            } else {
                serve.public_ip.clone()
            },
            data_dir,
            jwt_key_file,
            tls: serve.tls.or(file.tls).unwrap_or(TlsMode::Auto),
            tls_files,
            log_format: serve
                .log_format
                .or(file.log_format)
                .unwrap_or(LogFormat::Text),
            database_url: common
                .database_url
                .clone()
                .or_else(|| std::env::var("DATABASE_URL").ok())
                .or(file.database_url)
                .filter(|u| !u.is_empty())
                .map(Secret),
            admin_password: serve
                .admin_password
                .clone()
                .or(file.admin_password)
                .map(Secret),
            join_window,
            alarms,
        })
    }

    /// Whether HTTPS is served.
    pub fn use_tls(&self) -> bool {
        match self.tls {
            TlsMode::On => true,
            TlsMode::Off => false,
            TlsMode::Auto => !self.listen.ip().is_loopback(),
        }
    }

    /// The media candidate addresses: configured, else the listen address when it is
    /// specific, else the first non-loopback IPv4 interface, else loopback.
    pub fn media_ips(&self) -> Vec<IpAddr> {
        if !self.public_ips.is_empty() {
            return self.public_ips.clone();
        }
        if !self.listen.ip().is_unspecified() {
            return vec![self.listen.ip()];
        }
        let detected = if_addrs::get_if_addrs().ok().and_then(|addrs| {
            addrs
                .into_iter()
                .map(|a| a.ip())
                .find(|ip| ip.is_ipv4() && !ip.is_loopback() && !ip.is_unspecified())
        });
        vec![detected.unwrap_or(IpAddr::V4(Ipv4Addr::LOCALHOST))]
    }
}

fn read_file(path: &Path) -> Result<FileConfig, ConfigError> {
    let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
        path: path.display().to_string(),
        source,
    })?;
    toml::from_str(&text).map_err(|e| ConfigError::Parse {
        path: path.display().to_string(),
        message: e.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> Cli {
        Cli::try_parse_from(std::iter::once("hoinghi").chain(args.iter().copied())).unwrap()
    }

    #[test]
    fn flags_override_file_which_overrides_defaults() {
        let dir = std::env::temp_dir().join(format!("hoinghi-cfg-{}", rand::random::<u64>()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("c.toml");
        std::fs::write(
            &file,
            "media_port = 5000\nlisten = \"127.0.0.1:9000\"\ntls = \"on\"\n",
        )
        .unwrap();
        let cli = parse(&["--config", file.to_str().unwrap(), "--media-port", "6000"]);
        let s = Settings::resolve(&cli.common, &cli.serve).unwrap();
        assert_eq!(s.media_port, 6000);
        assert_eq!(s.listen, "127.0.0.1:9000".parse().unwrap());
        assert!(s.use_tls());
        assert_eq!(s.jwt_key_file, PathBuf::from("hoinghi-data/jwt.key"));

        std::fs::write(&file, "media_prot = 5000\n").unwrap();
        let cli = parse(&["--config", file.to_str().unwrap()]);
        let err = Settings::resolve(&cli.common, &cli.serve)
            .unwrap_err()
            .to_string();
        assert!(err.contains("media_prot"), "{err}");
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn database_url_from_flag_or_file_and_secrets_stay_out_of_debug() {
        let dir = std::env::temp_dir().join(format!("hoinghi-cfg-{}", rand::random::<u64>()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("c.toml");
        std::fs::write(
            &file,
            "database_url = \"postgres://u:pw-in-file@db/h\"\nadmin_password = \"pw-admin\"\n",
        )
        .unwrap();
        let cli = parse(&["--config", file.to_str().unwrap()]);
        let s = Settings::resolve(&cli.common, &cli.serve).unwrap();
        // The environment would take precedence over the file.
        let env_free = [
            "DATABASE_URL",
            "HOINGHI_DATABASE_URL",
            "HOINGHI_ADMIN_PASSWORD",
        ]
        .iter()
        .all(|v| std::env::var_os(v).is_none());
        if env_free {
            assert_eq!(
                s.database_url,
                Some(Secret("postgres://u:pw-in-file@db/h".into()))
            );
            assert_eq!(s.admin_password, Some(Secret("pw-admin".into())));
        }
        let debug = format!("{s:?}");
        assert!(!debug.contains("pw-"), "{debug}");

        let cli = parse(&[
            "--config",
            file.to_str().unwrap(),
            "--database-url",
            "sqlite://x.db",
        ]);
        let s = Settings::resolve(&cli.common, &cli.serve).unwrap();
        assert_eq!(s.database_url, Some(Secret("sqlite://x.db".into())));
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn join_window_from_flag_or_file_within_a_day() {
        let dir = std::env::temp_dir().join(format!("hoinghi-cfg-{}", rand::random::<u64>()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("c.toml");
        let env_free = ["HOINGHI_JOIN_WINDOW_BEFORE_MIN", "HOINGHI_JOIN_GRACE_MIN"]
            .iter()
            .all(|v| std::env::var_os(v).is_none());
        if env_free {
            let s = Settings::resolve(&parse(&[]).common, &parse(&[]).serve).unwrap();
            assert_eq!(s.join_window, JoinWindow::default());
            assert_eq!(
                (s.join_window.before_minutes, s.join_window.grace_minutes),
                (60, 15)
            );
        }
        std::fs::write(&file, "join_window_before_min = 30\njoin_grace_min = 5\n").unwrap();
        let cli = parse(&["--config", file.to_str().unwrap(), "--join-grace-min", "0"]);
        let s = Settings::resolve(&cli.common, &cli.serve).unwrap();
        if env_free {
            assert_eq!(s.join_window.before_minutes, 30);
        }
        assert_eq!(s.join_window.grace_minutes, 0);

        std::fs::write(&file, "join_window_before_min = 1441\n").unwrap();
        let cli = parse(&["--config", file.to_str().unwrap(), "--join-grace-min", "1"]);
        if env_free {
            let err = Settings::resolve(&cli.common, &cli.serve)
                .unwrap_err()
                .to_string();
            assert!(err.contains("join_window_before_min"), "{err}");
        }
        assert!(Cli::try_parse_from(["hoinghi", "--join-window-before-min", "1441"]).is_err());
        assert!(Cli::try_parse_from(["hoinghi", "--join-grace-min", "-1"]).is_err());
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn metrics_listen_defaults_to_loopback_and_can_be_turned_off() {
        let dir = std::env::temp_dir().join(format!("hoinghi-cfg-{}", rand::random::<u64>()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("c.toml");
        if std::env::var_os("HOINGHI_METRICS_LISTEN").is_none() {
            let s = Settings::resolve(&parse(&[]).common, &parse(&[]).serve).unwrap();
            assert_eq!(s.metrics_listen, Some(DEFAULT_METRICS_LISTEN));
            std::fs::write(&file, "metrics_listen = \"off\"\n").unwrap();
            let cli = parse(&["--config", file.to_str().unwrap()]);
            let s = Settings::resolve(&cli.common, &cli.serve).unwrap();
            assert_eq!(s.metrics_listen, None);
        }
        std::fs::write(&file, "metrics_listen = \"0.0.0.0:9100\"\n").unwrap();
        let cli = parse(&["--config", file.to_str().unwrap()]);
        let s = Settings::resolve(&cli.common, &cli.serve).unwrap();
        if std::env::var_os("HOINGHI_METRICS_LISTEN").is_none() {
            assert_eq!(s.metrics_listen, Some("0.0.0.0:9100".parse().unwrap()));
        }
        for off in ["off", ""] {
            let cli = parse(&["--metrics-listen", off]);
            let s = Settings::resolve(&cli.common, &cli.serve).unwrap();
            assert_eq!(s.metrics_listen, None);
        }
        let cli = parse(&["--metrics-listen", "127.0.0.1:0"]);
        let s = Settings::resolve(&cli.common, &cli.serve).unwrap();
        assert_eq!(s.metrics_listen, Some("127.0.0.1:0".parse().unwrap()));
        assert!(Cli::try_parse_from(["hoinghi", "--metrics-listen", "9464"]).is_err());
        std::fs::write(&file, "metrics_listen = \"nowhere\"\n").unwrap();
        let cli = parse(&["--config", file.to_str().unwrap()]);
        let err = Settings::resolve(&cli.common, &cli.serve)
            .unwrap_err()
            .to_string();
        assert!(err.contains("ADDRESS:PORT or off"), "{err}");
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn loopback_is_plain_http_by_default_and_advertised_as_is() {
        let cli = parse(&["--listen", "127.0.0.1:0"]);
        let s = Settings::resolve(&cli.common, &cli.serve).unwrap();
        assert!(!s.use_tls());
        assert_eq!(s.media_ips(), vec!["127.0.0.1".parse::<IpAddr>().unwrap()]);
    }

    #[test]
    fn token_subcommand_and_bad_flags() {
        let cli = parse(&[
            "token",
            "--room",
            "r",
            "--identity",
            "i",
            "--name",
            "n",
            "--no-publish",
        ]);
        assert!(matches!(
            cli.command,
            Some(Command::Token {
                no_publish: true,
                ttl: DEFAULT_TOKEN_TTL_SECS,
                ..
            })
        ));
        assert!(Cli::try_parse_from(["hoinghi", "token", "--room", "r"]).is_err());
        let host = parse(&[
            "token",
            "--room",
            "r",
            "--identity",
            "i",
            "--name",
            "n",
            "--role",
            "host",
        ]);
        assert!(matches!(
            host.command,
            Some(Command::Token {
                role: RoleArg::Host,
                ..
            })
        ));
        assert!(Cli::try_parse_from([
            "hoinghi",
            "token",
            "--room",
            "r",
            "--identity",
            "i",
            "--name",
            "n",
            "--role",
            "chair"
        ])
        .is_err());
        assert!(matches!(
            parse(&["keys", "retire", "k1"]).command,
            Some(Command::Keys {
                action: KeysCommand::Retire { .. }
            })
        ));
        assert!(Cli::try_parse_from(["hoinghi", "keys", "retire"]).is_err());
        assert!(Cli::try_parse_from(["hoinghi", "--media-port", "x"]).is_err());
        assert!(Cli::try_parse_from([
            "hoinghi",
            "token",
            "--room",
            "r",
            "--identity",
            "i",
            "--name",
            "n",
            "--ttl",
            "0"
        ])
        .is_err());
    }
}
