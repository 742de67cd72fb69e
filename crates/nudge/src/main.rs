//! The `nudge` command.
//!
//! # Layout
//!
//! - `config`: loading and checking `nudge.toml`.
//! - `replay`: `nudge replay`, the engine over files, and `--compare` of two configurations.
//! - `report`: `nudge report`, the journey report page and its JSON.
//! - `demo`: `nudge demo`, everything in one process on a mock cluster.
//! - `live`: `nudge run`, `nudge topics create`, `nudge dev-broker`.
//! - `produce`: `nudge produce`, NDJSON files into the input topics.
//! - `simulate`: `nudge simulate`, the journey simulator's traffic.

mod config;
mod demo;
mod live;
mod produce;
mod replay;
mod report;
mod simulate;
mod traffic;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// mimalloc rather than glibc's allocator: the stream loop frees decoded records and engine
/// outputs in bursts of a batch, past what glibc's per-thread cache holds, and glibc's slow
/// path (consolidating free chunks) cost the stream thread several percent of its CPU.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Parser)]
#[command(
    name = "nudge",
    version,
    about = "Real-time customer-journey engine on Kafka"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the engine over clickstream.ndjson, email.ndjson and crm.ndjson in a directory.
    Replay {
        /// Directory holding the input files (any of them may be missing).
        #[arg(long)]
        input: PathBuf,
        /// Configuration file; every key is optional.
        #[arg(long)]
        config: Option<PathBuf>,
        /// Write output records here instead of stdout (with --compare: the diff JSON).
        #[arg(long)]
        out: Option<PathBuf>,
        /// Also replay under this configuration and compare the triggers of the two (--config,
        /// or the defaults, is A; this is B): a summary on stdout, the diff in --out.
        #[arg(long)]
        compare: Option<PathBuf>,
        /// Input bytes to sort in memory before spilling sorted runs to disk.
        #[arg(long, default_value_t = 256 << 20, hide = true)]
        sort_budget: usize,
    },
    /// Write the journey report of a replay: funnel, sessions, triggers and their uplift, as
    /// one self-contained HTML page (and JSON).
    Report {
        /// Directory of input files to replay.
        #[arg(long, required_unless_present = "from", conflicts_with = "from")]
        input: Option<PathBuf>,
        /// Read this `nudge replay` output file instead of replaying.
        #[arg(long)]
        from: Option<PathBuf>,
        /// Configuration of the replay (with --from: the one that produced the file).
        #[arg(long)]
        config: Option<PathBuf>,
        /// The HTML page.
        #[arg(long)]
        out: PathBuf,
        /// The same figures as JSON.
        #[arg(long)]
        json: Option<PathBuf>,
        #[arg(long, default_value_t = 256 << 20, hide = true)]
        sort_budget: usize,
    },
    /// Validate a configuration file and name the first bad key.
    Check {
        #[arg(long)]
        config: PathBuf,
    },
    /// Run the pipeline against Kafka until SIGINT or SIGTERM.
    Run {
        #[arg(long)]
        config: Option<PathBuf>,
        /// Overrides [kafka] "bootstrap.servers".
        #[arg(long)]
        brokers: Option<String>,
        /// Overrides [runtime] instance_id (part of the transactional ids).
        #[arg(long)]
        instance_id: Option<String>,
        /// Overrides [metrics] listen, e.g. 0.0.0.0:9464.
        #[arg(long)]
        metrics_listen: Option<std::net::SocketAddr>,
    },
    /// Produce DIR/{crm,email,clickstream}.ndjson to the input topics, keyed by customer.
    Produce {
        #[arg(long)]
        input: PathBuf,
        #[arg(long)]
        brokers: String,
        #[arg(long)]
        config: Option<PathBuf>,
    },
    /// Simulate customer journeys (buyers, cart and checkout abandoners, browsers, lapsing
    /// customers, unsubscribers): NDJSON files with --out, or live traffic into Kafka with
    /// --brokers.
    Simulate {
        /// Directory for crm.ndjson, email.ndjson and clickstream.ndjson.
        #[arg(long, required_unless_present = "brokers", conflicts_with = "brokers")]
        out: Option<PathBuf>,
        /// Produce live to the input topics of this Kafka, keyed by customer id.
        #[arg(long)]
        brokers: Option<String>,
        /// With --brokers: configuration for the topic names and client settings.
        #[arg(long, requires = "brokers")]
        config: Option<PathBuf>,
        #[arg(long, default_value_t = 1000)]
        customers: u32,
        /// Files: span of simulated event time (default 24h). Live: wall-clock time to run
        /// for (default: until stopped).
        #[arg(long)]
        duration: Option<nudge_engine::Dur>,
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// Files: start at midnight UTC this many days ago (default: 2026-11-30).
        #[arg(long, conflicts_with = "brokers")]
        days_ago: Option<i64>,
        /// Live: at most this many records per wall-clock second.
        #[arg(long, default_value_t = 10_000, requires = "brokers")]
        rate: u32,
        /// Live: journey time per wall-clock time (above 1, event times run ahead of the
        /// wall clock: for load tests, not for trigger delays).
        #[arg(long, default_value_t = 1.0, requires = "brokers")]
        speed: f64,
        /// Live: journey time before now, produced first at --rate.
        #[arg(long, default_value = "0s", requires = "brokers")]
        history: nudge_engine::Dur,
    },
    /// Try Nudge with no Kafka installed: a mock cluster in this process, simulated customers
    /// producing live on a fast clock, the pipeline, and each trigger printed as it fires.
    Demo {
        #[arg(long, default_value_t = 2000)]
        customers: u32,
        /// At most this many records per wall-clock second.
        #[arg(long, default_value_t = 200)]
        rate: u32,
        /// Wall-clock time to run for, e.g. "60s" or "5m".
        #[arg(long, default_value = "60s")]
        duration: nudge_engine::Dur,
        /// Journey time per wall-clock time: 60 runs an hour of journeys in a minute.
        #[arg(long, default_value_t = 60.0)]
        speed: f64,
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// Partitions of every topic.
        #[arg(long, default_value_t = 4)]
        partitions: i32,
        /// Journey time simulated before now and produced first, so there is something to
        /// see from the start ("0s": customers start from nothing now).
        #[arg(long, default_value = "3h")]
        history: nudge_engine::Dur,
    },
    /// Manage Nudge's topics.
    Topics {
        #[command(subcommand)]
        command: TopicsCommand,
    },
    /// Host a Kafka mock cluster (with transactions) with every topic, until stopped.
    DevBroker {
        /// Serve on this port (default: one the mock cluster picks).
        #[arg(long)]
        port: Option<u16>,
        #[arg(long, default_value_t = 4)]
        partitions: i32,
        /// Configuration for the topic names.
        #[arg(long)]
        config: Option<PathBuf>,
    },
}

#[derive(Subcommand)]
enum TopicsCommand {
    /// Create the input, output and internal topics (idempotent).
    Create {
        #[arg(long)]
        brokers: String,
        #[arg(long)]
        partitions: i32,
        #[arg(long, default_value_t = 1)]
        replication: i32,
        /// Configuration for the topic names and client settings.
        #[arg(long)]
        config: Option<PathBuf>,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .init();
    let result = match cli.command {
        Command::Replay {
            input,
            config,
            out,
            compare: None,
            sort_budget,
        } => config::load_or_default(config.as_deref()).and_then(|cfg| {
            let opts = replay::Options {
                input: &input,
                out: out.as_deref(),
                sort_budget,
            };
            replay::run(&opts, cfg.engine)
        }),
        Command::Replay {
            input,
            config,
            out,
            compare: Some(b),
            sort_budget,
        } => replay::compare::run(&input, config.as_deref(), &b, out.as_deref(), sort_budget),
        Command::Report {
            input,
            from,
            config,
            out,
            json,
            sort_budget,
        } => (config.as_deref().map(config::load).transpose()).and_then(|cfg| {
            let opts = report::Options {
                input: input.as_deref(),
                from: from.as_deref(),
                out: &out,
                json: json.as_deref(),
                sort_budget,
            };
            report::run(&opts, cfg.map(|c| c.engine))
        }),
        Command::Check { config } => config::load(&config).map(|_| {
            println!("{}: ok", config.display());
        }),
        Command::Run {
            config,
            brokers,
            instance_id,
            metrics_listen,
        } => config::load_or_default(config.as_deref()).and_then(|mut cfg| {
            if let Some(addr) = metrics_listen {
                cfg.run.metrics.listen = addr;
            }
            if let Some(b) = brokers {
                cfg.run.kafka.set("bootstrap.servers", b);
            }
            if instance_id.is_some() {
                cfg.run.runtime.instance_id = instance_id;
            }
            live::run(cfg, live::shutdown_flag()?, nudge_kafka::Clock::System)
        }),
        Command::Produce {
            input,
            brokers,
            config,
        } => config::load_or_default(config.as_deref()).and_then(|mut cfg| {
            cfg.run.kafka.set("bootstrap.servers", brokers);
            produce::run(&cfg, &input)
        }),
        Command::Simulate {
            out,
            brokers,
            config,
            customers,
            duration,
            seed,
            days_ago,
            rate,
            speed,
            history,
        } => match (out, brokers) {
            (Some(out), _) => simulate::to_files(&simulate::Options {
                out: &out,
                customers,
                duration_ms: duration.map_or(simulate::DAY_MS, |d| d.millis()),
                seed,
                days_ago,
            }),
            (None, brokers) => config::load_or_default(config.as_deref()).and_then(|mut cfg| {
                if let Some(b) = brokers {
                    cfg.run.kafka.set("bootstrap.servers", b);
                }
                simulate::live(
                    &cfg,
                    &simulate::Live {
                        customers,
                        rate,
                        duration_ms: duration.map(|d| d.millis()),
                        seed,
                        speed,
                        history_ms: history.millis(),
                    },
                )
            }),
        },
        Command::Demo {
            customers,
            rate,
            duration,
            speed,
            seed,
            partitions,
            history,
        } => demo::run(&demo::Options {
            customers,
            rate,
            duration_ms: duration.millis(),
            speed,
            seed,
            partitions,
            history_ms: history.millis(),
        }),
        Command::Topics {
            command:
                TopicsCommand::Create {
                    brokers,
                    partitions,
                    replication,
                    config,
                },
        } => config::load_or_default(config.as_deref()).and_then(|mut cfg| {
            cfg.run.kafka.set("bootstrap.servers", brokers);
            live::create_topics(&cfg, partitions, replication)
        }),
        Command::DevBroker {
            port,
            partitions,
            config,
        } => config::load_or_default(config.as_deref())
            .and_then(|cfg| live::dev_broker(&cfg, partitions, port)),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("nudge: {e:#}");
            ExitCode::FAILURE
        }
    }
}
